-- Who runs the run (D20 amended): recorded when the run opens.
UPDATE pipeline_run SET owner = %(owner)s, took_over = %(took_over)s WHERE run_id = %(run_id)s
