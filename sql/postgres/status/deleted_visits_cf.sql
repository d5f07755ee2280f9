-- B-2 deleted_visits_cf (D15): a conflict whose primary visit was deleted becomes 'D'. Conflicts not
-- already 'D' having a pair inside the window whose "VisitID" is a deleted id of this run.
-- "ResolvedBy" comes from one pair chosen deterministically: the matching pair with the smallest "ID"
-- (legacy took an arbitrary match, section I.12).
WITH hit AS (
    SELECT DISTINCT ON (c."CONFLICTID")
           c."CONFLICTID",
           COALESCE(c."AgencyContact", c."ProviderName") AS resolved_by
    FROM _tmp_deleted_visits d
    JOIN conflictvisitmaps c ON c."VisitID" = d."VisitID"
    WHERE c."CONFLICTID" IS NOT NULL
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
    ORDER BY c."CONFLICTID", c."ID"
)
UPDATE conflicts f
SET "StatusFlag" = 'D',
    "ResolveDate" = COALESCE(f."ResolveDate", %(now)s),
    "ResolvedBy" = hit.resolved_by
FROM hit
WHERE f."CONFLICTID" = hit."CONFLICTID"
  AND f."StatusFlag" <> 'D'
