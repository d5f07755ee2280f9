-- A run's rows of a run-keyed scratch table (another run's rows stay).
DELETE FROM {table} WHERE run_id = %(run_id)s
