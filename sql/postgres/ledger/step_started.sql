-- A step (or chunk) starts; a rerun of the same step bumps its attempt. Only while its run is open and
-- holds the lock ('running', the single row pipeline_run_one_active admits): a step of a closed run,
-- e.g. one a redriven execution re-enters after restore closed the run, gets no row and must not write.
INSERT INTO pipeline_run_step (run_id, step, chunk, status, started_at)
SELECT %(run_id)s, %(step)s, %(chunk)s, 'running', clock_timestamp()
WHERE EXISTS (SELECT 1 FROM pipeline_run WHERE run_id = %(run_id)s AND status = 'running')
ON CONFLICT (run_id, step, chunk) DO UPDATE
    SET status = 'running', attempt = pipeline_run_step.attempt + 1,
        started_at = clock_timestamp(), ended_at = NULL, error = NULL, counts = '{}'::jsonb
RETURNING attempt
