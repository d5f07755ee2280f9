-- The view rows of the changed conflicts go, to be computed again (insert_conflict_rows.sql).
DELETE FROM payer_conflicts_common b
USING _payer_view_conflicts c
WHERE b."CONFLICTID" = c.conflict_id
