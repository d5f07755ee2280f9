-- The run's scope starts over: a rerun of plan replaces it with the same content.
DELETE FROM run_scope_group WHERE run_id = %(run_id)s
