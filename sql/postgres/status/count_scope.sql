-- The size of the delta scope (D16), for the step's counts.
SELECT
    (SELECT count(*) FROM _status_scope_row) AS scope_rows,
    (SELECT count(*) FROM _status_scope_conflict) AS scope_conflicts
