-- An operator releases the lock of a run whose process is gone.
UPDATE pipeline_run
SET status = 'cancelled', ended_at = clock_timestamp(),
    error = COALESCE(error, 'released by operator (process gone)')
WHERE run_id = %(run_id)s AND status = 'running'
