-- The status of each chunk (or -1) of one step of a run.
SELECT chunk, status FROM pipeline_run_step WHERE run_id = %(run_id)s AND step = %(step)s
