-- Run history: every step and chunk row of the given runs (a retried step keeps one row, whose attempt
-- says how many times it started and whose times are those of its last attempt).
SELECT run_id, step, chunk, status, attempt, started_at, ended_at, counts, error
FROM pipeline_run_step
WHERE run_id = ANY(%(run_ids)s)
ORDER BY run_id, started_at, step, chunk
