-- D11: update re-detected pairs of the writer's kind (regular pairs, or InService pairs for D14) whose
-- written columns differ (IS DISTINCT FROM, after type normalisation by the typed temp table) or whose
-- status is 'R' (they reopen). Flags only move N -> Y, CONFLICTID / CreatedDate / user-owned columns
-- are preserved, 'W', 'I' and 'D' keep their status.
-- Returns the previous status of each updated row (to count reopened rows).
UPDATE conflictvisitmaps t SET
    {set_list},
    "StatusFlag" = CASE WHEN t."StatusFlag" IN ('W', 'I', 'D') THEN t."StatusFlag" ELSE 'U' END,
    "ResolveDate" = CASE WHEN t."StatusFlag" = 'R' THEN NULL ELSE t."ResolveDate" END,
    "ResolvedBy" = CASE WHEN t."StatusFlag" = 'R' THEN NULL ELSE t."ResolvedBy" END,
    "UpdateFlag" = NULL,
    "UpdatedDate" = %(now)s
FROM {incoming} s,
     conflictvisitmaps o  -- the same row before the update: RETURNING reads its old status
WHERE o."ID" = t."ID"
  AND t."VisitID" = s."VisitID"
  AND t."ConVisitID" = s."ConVisitID"
  AND {owned}
  AND (t."StatusFlag" = 'R' OR {changed})
RETURNING o."StatusFlag"
