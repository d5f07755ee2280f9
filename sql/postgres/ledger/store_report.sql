-- D22: the JSON record of the run's report.
UPDATE pipeline_run SET report = %(report)s WHERE run_id = %(run_id)s
