-- The size of the run's scope, for the plan step's counts (D13).
SELECT count(*), count(DISTINCT "SSN"), count(DISTINCT "VisitDate")
FROM run_scope_group
WHERE run_id = %(run_id)s
