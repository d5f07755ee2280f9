-- D12 stale cleanup, second part: the candidates (stale_candidates.sql) that the run did not produce
-- become 'R' (ResolveDate kept if already set). The candidate table is analysed first, so the planner
-- sees ~1M rows on both sides and anti-joins by hash instead of probing the seen set once per row.
-- The status and kind are checked again on the row itself. Returns one row per resolved pair.
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(c."ResolveDate", %(now)s),
    "UpdatedDate" = %(now)s
FROM (
    SELECT k."VisitID", k."ConVisitID"
    FROM _stale_candidates k
    WHERE NOT EXISTS (
        SELECT 1 FROM run_seen_pair p
        WHERE p.run_id = %(run_id)s AND p."VisitID" = k."VisitID" AND p."ConVisitID" = k."ConVisitID"
    )
) stale
WHERE c."VisitID" = stale."VisitID"
  AND c."ConVisitID" = stale."ConVisitID"
  AND c."StatusFlag" IN ('N', 'U')
  AND {regular}
RETURNING c."ID"
