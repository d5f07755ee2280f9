-- The run that holds the lock (at most one, by the unique index pipeline_run_one_active).
SELECT run_id, started_at, environment, owner FROM pipeline_run WHERE status = 'running'
