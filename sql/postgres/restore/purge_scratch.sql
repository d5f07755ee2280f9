-- The run's scope and seen keys are scratch data of this run only (another run's rows stay).
DELETE FROM {table} WHERE run_id = %(run_id)s
