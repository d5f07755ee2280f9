-- The number of groups stale cleanup covers (all chunks of the run's scope).
SELECT count(*) FROM run_scope_group WHERE run_id = %(run_id)s
