-- A-8 cascade_resolve_cvm: in a conflict that is 'R' or 'D' and has at most one unresolved pair left
-- inside the window (counting every pair inside the window; unresolved = not 'R'/'D', so 'W' and 'I'
-- count as unresolved), the remaining unresolved pairs become 'R'. 'W' and 'I' pairs are never changed
-- (D15) unless noresponse_flag_cvm reopens them in this run (ConNoResponseFlag 'Yes').
-- "ResolvedBy": primary agency when the primary visit was missed, conflicting agency when the
-- conflicting visit was, else the existing value, then the conflicting agency.
WITH active AS (
    SELECT DISTINCT c."CONFLICTID"
    FROM conflictvisitmaps c
    JOIN conflicts p ON p."CONFLICTID" = c."CONFLICTID"
    WHERE c."StatusFlag" NOT IN ('R', 'D')
      AND p."StatusFlag" IN ('R', 'D')
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
      AND {row_scope}
),
resolvable AS (
    SELECT a."CONFLICTID"
    FROM active a
    JOIN conflictvisitmaps s ON s."CONFLICTID" = a."CONFLICTID"
    WHERE s."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
    GROUP BY a."CONFLICTID"
    HAVING count(*) - count(*) FILTER (WHERE s."StatusFlag" IN ('R', 'D')) <= 1
)
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(c."ResolveDate", %(now)s),
    "ResolvedBy" = CASE
        WHEN c."IsMissed" THEN COALESCE(c."AgencyContact", c."ProviderName")
        WHEN c."ConIsMissed" THEN COALESCE(c."ConAgencyContact", c."ConProviderName")
        ELSE COALESCE(c."ResolvedBy", c."ConAgencyContact", c."ConProviderName")
    END
FROM resolvable r
WHERE c."CONFLICTID" = r."CONFLICTID"
  AND c."StatusFlag" NOT IN ('R', 'D')
  AND (c."StatusFlag" NOT IN ('W', 'I') OR c."ConNoResponseFlag" = 'Yes')
  AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
