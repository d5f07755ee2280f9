-- How the work steps ended, recorded by the engine before the closing step (which reads it).
UPDATE pipeline_run SET outcome = %(outcome)s, error = %(error)s
WHERE run_id = %(run_id)s AND status = 'running'
