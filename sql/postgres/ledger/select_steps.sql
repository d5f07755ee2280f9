SELECT step, chunk, status, attempt, started_at, ended_at, counts, error
FROM pipeline_run_step
WHERE run_id = %(run_id)s
ORDER BY started_at, chunk
