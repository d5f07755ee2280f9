-- D10, first part: the batch's pairs that are not stored yet (probe_batch_keys.sql marked the others).
-- Kept in their own small temp table, analysed, so the following statements are planned with real row
-- counts (a CTE estimated at one row made the planner loop over it once per row).
INSERT INTO {new_pairs} (rn, "VisitID", "ConVisitID")
SELECT rn, "VisitID", "ConVisitID"
FROM {batch_keys}
WHERE NOT stored
