-- D11: update re-detected pairs of the writer's kind (regular pairs, or InService pairs for D14) whose
-- written columns differ (IS DISTINCT FROM, after type normalisation by the typed temp table) or whose
-- status is 'R' (they reopen). Flags only move N -> Y, CONFLICTID / CreatedDate / user-owned columns
-- are preserved, 'W', 'I' and 'D' keep their status.
-- D11 amended: when the only differences are the metadata columns (LastUpdatedDate, LastUpdatedBy and
-- their Con* twins), those columns are refreshed and nothing else moves: StatusFlag, UpdateFlag and
-- UpdatedDate stay, so a touched visit with no business change does not reopen or flag its conflicts.
-- {business_changed} compares every written column but those four; {changed} compares them all.
-- Conflict history (migration 0035), in the same statement: every updated row with a business change or
-- a status change gets an event ('reopened' from 'R', else 'changed'); a metadata-only refresh gets none.
-- Returns the previous status of each updated row (to count reopened rows) and whether the row had a
-- business change (to count metadata-only refreshes apart).
WITH updated AS (
UPDATE conflictvisitmaps t SET
    {set_list},
    "StatusFlag" = CASE
        WHEN t."StatusFlag" IN ('W', 'I', 'D') THEN t."StatusFlag"
        WHEN t."StatusFlag" = 'R' OR ({business_changed}) THEN 'U'
        ELSE t."StatusFlag"
    END,
    "ResolveDate" = CASE WHEN t."StatusFlag" = 'R' THEN NULL ELSE t."ResolveDate" END,
    "ResolvedBy" = CASE WHEN t."StatusFlag" = 'R' THEN NULL ELSE t."ResolvedBy" END,
    "UpdateFlag" = CASE WHEN t."StatusFlag" = 'R' OR ({business_changed}) THEN NULL ELSE t."UpdateFlag" END,
    "UpdatedDate" = CASE WHEN t."StatusFlag" = 'R' OR ({business_changed}) THEN %(now)s ELSE t."UpdatedDate" END
FROM {incoming} s,
     conflictvisitmaps o  -- the same row before the update: RETURNING reads its old values
WHERE o."ID" = t."ID"
  AND t."VisitID" = s."VisitID"
  AND t."ConVisitID" = s."ConVisitID"
  AND {owned}
  AND (t."StatusFlag" = 'R' OR {changed})
RETURNING t."ID", t."CONFLICTID", t."VisitID", t."ConVisitID", o."StatusFlag" AS old_status,
    t."StatusFlag" AS new_status, COALESCE(o."StatusFlag" = 'R' OR ({business_changed_before}), false) AS business
),
events AS (
    INSERT INTO conflict_event (run_id, step, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status,
        new_status, reason, at)
    SELECT %(run_id)s, %(step)s, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status, new_status,
        CASE WHEN old_status = 'R' THEN 'reopened' ELSE 'changed' END, %(now)s
    FROM updated
    WHERE business OR old_status IS DISTINCT FROM new_status
)
SELECT old_status, business FROM updated
