-- A step (or chunk) starts; a rerun of the same step bumps its attempt.
INSERT INTO pipeline_run_step (run_id, step, chunk, status, started_at)
VALUES (%(run_id)s, %(step)s, %(chunk)s, 'running', clock_timestamp())
ON CONFLICT (run_id, step, chunk) DO UPDATE
    SET status = 'running', attempt = pipeline_run_step.attempt + 1,
        started_at = clock_timestamp(), ended_at = NULL, error = NULL, counts = '{}'::jsonb
RETURNING attempt
