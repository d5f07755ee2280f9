-- A-9 cascade_resolve_cf: a conflict not 'R'/'D' that has pairs inside the window, all of them 'R' or
-- 'D', becomes 'R'. 'W' and 'I' conflicts are never changed (D15) unless noresponse_flag_cf reopens them
-- in this run (NoResponseFlag 'Yes').
-- "ResolvedBy" from the resolved pair with the smallest "ID" (D15; legacy took an arbitrary one): its
-- primary agency when its primary visit was missed, its conflicting agency when the conflicting visit
-- was, else the existing value, then the pair's primary agency.
WITH all_resolved AS (
    SELECT c."CONFLICTID"
    FROM conflictvisitmaps c
    JOIN conflicts p ON p."CONFLICTID" = c."CONFLICTID"
    WHERE p."StatusFlag" NOT IN ('R', 'D')
      AND (p."StatusFlag" NOT IN ('W', 'I') OR p."NoResponseFlag" = 'Yes')
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
      AND {row_scope}
    GROUP BY c."CONFLICTID"
    HAVING count(*) = count(*) FILTER (WHERE c."StatusFlag" IN ('R', 'D'))
),
pick AS (
    SELECT DISTINCT ON (c."CONFLICTID")
           c."CONFLICTID", c."IsMissed", c."ConIsMissed",
           c."AgencyContact", c."ProviderName", c."ConAgencyContact", c."ConProviderName"
    FROM all_resolved a
    JOIN conflictvisitmaps c ON c."CONFLICTID" = a."CONFLICTID"
    WHERE c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
    ORDER BY c."CONFLICTID", c."ID"
)
UPDATE conflicts f
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(f."ResolveDate", %(now)s),
    "ResolvedBy" = CASE
        WHEN pick."IsMissed" THEN COALESCE(pick."AgencyContact", pick."ProviderName")
        WHEN pick."ConIsMissed" THEN COALESCE(pick."ConAgencyContact", pick."ConProviderName")
        ELSE COALESCE(f."ResolvedBy", pick."AgencyContact", pick."ProviderName")
    END
FROM pick
WHERE f."CONFLICTID" = pick."CONFLICTID"
