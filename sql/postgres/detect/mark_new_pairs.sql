-- D10, first part: the batch's pairs that are not stored yet (any kind: the unique index is global).
-- Kept in their own small temp table, analysed, so the following statements are planned with real row
-- counts (a CTE estimated at one row made the planner loop over it once per row).
INSERT INTO {new_pairs} ("VisitID", "ConVisitID")
SELECT i."VisitID", i."ConVisitID"
FROM {incoming} i
WHERE NOT EXISTS (
    SELECT 1 FROM conflictvisitmaps c
    WHERE c."VisitID" = i."VisitID" AND c."ConVisitID" = i."ConVisitID"
)
