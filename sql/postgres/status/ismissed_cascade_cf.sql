-- A-3 ismissed_cascade_cf: a conflict with a missed visit on any of its pairs inside the window is
-- resolved ('R'). Not 'R' or 'D' already; 'W' and 'I' are left alone (D15), except a 'W'/'I' conflict
-- that noresponse_flag_cf reopens to 'N' in this same run (NoResponseFlag 'Yes'): it is treated as the
-- open conflict it becomes, so one pass reaches the state a second pass would (no-change rerun).
-- "ResolvedBy" from the missed pair with the smallest "ID" (D15): its primary agency when its own visit
-- was missed, else the conflicting agency.
WITH missed AS (
    SELECT DISTINCT ON (c."CONFLICTID")
           c."CONFLICTID",
           CASE
               WHEN c."IsMissed" THEN COALESCE(c."AgencyContact", c."ProviderName")
               ELSE COALESCE(c."ConAgencyContact", c."ConProviderName")
           END AS resolved_by
    FROM conflictvisitmaps c
    WHERE (c."IsMissed" OR c."ConIsMissed")
      AND c."CONFLICTID" IS NOT NULL
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
      AND {row_scope}
    ORDER BY c."CONFLICTID", c."ID"
)
UPDATE conflicts f
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(f."ResolveDate", %(now)s),
    "ResolvedBy" = missed.resolved_by
FROM missed
WHERE f."CONFLICTID" = missed."CONFLICTID"
  AND f."StatusFlag" NOT IN ('R', 'D')
  AND (f."StatusFlag" NOT IN ('W', 'I') OR f."NoResponseFlag" = 'Yes')
