-- The view rows of the changed conflicts, computed again (migration 0034's payer_conflict_rows).
INSERT INTO payer_conflicts_common
SELECT * FROM payer_conflict_rows((SELECT COALESCE(array_agg(conflict_id), '{}') FROM _payer_view_conflicts))
