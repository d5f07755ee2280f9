-- One chunk's scope groups as plan recorded them, for that detect chunk (through run_scope_group_run).
SELECT "VisitDate", "SSN"
FROM run_scope_group
WHERE run_id = %(run_id)s AND chunk = %(chunk)s
