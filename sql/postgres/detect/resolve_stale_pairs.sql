-- D12 stale cleanup: a regular pair whose group (VisitDate, SSN) was in the run's scope, that the run
-- did not produce, and whose status is 'N' or 'U', becomes 'R'. 'W', 'I', 'D', 'R' are left alone.
-- The scope keys are first reduced to the groups that exist, through the ("VisitDate", "SSN") partial
-- index; the update goes by "ID". Returns one row per resolved pair.
WITH scope AS (
    SELECT DISTINCT "VisitDate", "SSN" FROM run_scope_group WHERE run_id = %(run_id)s
),
stale AS (
    SELECT c."ID"
    FROM scope s
    JOIN conflictvisitmaps c ON c."VisitDate" = s."VisitDate" AND c."SSN" = s."SSN"
    WHERE c."CONFLICTID" IS NOT NULL
      AND {regular}
      AND c."StatusFlag" IN ('N', 'U')
      AND NOT EXISTS (
          SELECT 1 FROM run_seen_pair p
          WHERE p.run_id = %(run_id)s AND p."VisitID" = c."VisitID" AND p."ConVisitID" = c."ConVisitID"
      )
)
UPDATE conflictvisitmaps t
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(t."ResolveDate", %(now)s),
    "UpdatedDate" = %(now)s
FROM stale
WHERE t."ID" = stale."ID"
RETURNING t."ID"
