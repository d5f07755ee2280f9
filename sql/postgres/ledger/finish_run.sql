-- Close the run: the lock is free once its status is no longer 'running'.
UPDATE pipeline_run SET status = %(status)s, ended_at = clock_timestamp(), error = %(error)s
WHERE run_id = %(run_id)s
