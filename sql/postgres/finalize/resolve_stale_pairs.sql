-- D12 stale cleanup, last part: the stale pairs (stale_pairs.sql) become 'R' (ResolveDate kept if
-- already set), looked up by key through the unique index. Status and kind are checked again on the row
-- itself. Each resolved pair gets a 'stale' event in the conflict history (migration 0035) in the same
-- statement; the old status comes from the statement's snapshot (a scalar subquery in RETURNING sees
-- the row as it was before the update). Returns one row per resolved pair.
WITH resolved AS (
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(c."ResolveDate", %(now)s),
    "UpdatedDate" = %(now)s
FROM _stale_pairs stale
WHERE c."VisitID" = stale."VisitID"
  AND c."ConVisitID" = stale."ConVisitID"
  AND c."StatusFlag" IN ('N', 'U')
  AND {regular}
RETURNING c."ID", c."CONFLICTID", c."VisitID", c."ConVisitID",
    (SELECT o."StatusFlag" FROM conflictvisitmaps o WHERE o."ID" = c."ID") AS old_status,
    c."StatusFlag" AS new_status
),
events AS (
    INSERT INTO conflict_event (run_id, step, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status,
        new_status, reason, at)
    SELECT %(run_id)s, %(step)s, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status, new_status,
        'stale', %(now)s
    FROM resolved
)
SELECT "ID" FROM resolved
