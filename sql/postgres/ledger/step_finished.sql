UPDATE pipeline_run_step
SET status = %(status)s, ended_at = clock_timestamp(), counts = %(counts)s, error = %(error)s
WHERE run_id = %(run_id)s AND step = %(step)s AND chunk = %(chunk)s
