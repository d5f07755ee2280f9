-- The chunk count plan decided for the run (its step result in the ledger), if plan succeeded.
SELECT (counts ->> 'chunk_count')::int
FROM pipeline_run_step
WHERE run_id = %(run_id)s AND step = 'plan' AND chunk = -1 AND status = 'succeeded'
