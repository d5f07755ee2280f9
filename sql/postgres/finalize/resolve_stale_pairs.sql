-- D12 stale cleanup, last part: the stale pairs (stale_pairs.sql) become 'R' (ResolveDate kept if
-- already set), looked up by key through the unique index. Status and kind are checked again on the row
-- itself. Returns one row per resolved pair.
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(c."ResolveDate", %(now)s),
    "UpdatedDate" = %(now)s
FROM _stale_pairs stale
WHERE c."VisitID" = stale."VisitID"
  AND c."ConVisitID" = stale."ConVisitID"
  AND c."StatusFlag" IN ('N', 'U')
  AND {regular}
RETURNING c."ID"
