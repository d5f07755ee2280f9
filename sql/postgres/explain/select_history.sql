-- `visit-conflicts explain`: the recorded history of the given stored pairs (pair_ids: their "ID") and
-- conflicts (conflict_ids), oldest first, through conflict_event_pair and conflict_event_conflict
-- (migration 0037). Read only when history_table_exists.sql says the table is there.
SELECT run_id, step, "VisitID"::text AS "VisitID", "ConVisitID"::text AS "ConVisitID", "CONFLICTID",
    old_status, new_status, CASE WHEN detail IS NULL THEN reason ELSE reason || ' (' || detail || ')' END AS reason,
    at
FROM conflict_event
WHERE "ID" = ANY(%(pair_ids)s::int8[])
   OR "CONFLICTID" = ANY(%(conflict_ids)s::int8[])
ORDER BY at, event_id
