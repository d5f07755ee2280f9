-- `visit-conflicts explain`: the recorded history of the given pairs (visit_ids on either side) and
-- conflicts (conflict_ids), oldest first. Read only when history_table_exists.sql says the table is there.
SELECT run_id, step, "VisitID"::text AS "VisitID", "ConVisitID"::text AS "ConVisitID", "CONFLICTID",
    old_status, new_status, CASE WHEN detail IS NULL THEN reason ELSE reason || ' (' || detail || ')' END AS reason,
    at
FROM conflict_event
WHERE "VisitID" = ANY(%(visit_ids)s::uuid[])
   OR "ConVisitID" = ANY(%(visit_ids)s::uuid[])
   OR "CONFLICTID" = ANY(%(conflict_ids)s::int8[])
ORDER BY at, event_id
