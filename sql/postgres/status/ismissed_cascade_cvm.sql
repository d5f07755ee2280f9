-- A-4 ismissed_cascade_cvm: a pair inside the window with a missed visit on either side is resolved
-- ('R'). Not 'R' or 'D' already; 'W' and 'I' are left alone (D15) unless noresponse_flag_cvm reopens the
-- row in this run (ConNoResponseFlag 'Yes'; see ismissed_cascade_cf). "ResolvedBy": the primary agency
-- when the primary visit was missed, else the conflicting agency.
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'R',
    "ResolveDate" = COALESCE(c."ResolveDate", %(now)s),
    "ResolvedBy" = CASE
        WHEN c."IsMissed" THEN COALESCE(c."AgencyContact", c."ProviderName")
        ELSE COALESCE(c."ConAgencyContact", c."ConProviderName")
    END
WHERE (c."IsMissed" OR c."ConIsMissed")
  AND c."StatusFlag" NOT IN ('R', 'D')
  AND (c."StatusFlag" NOT IN ('W', 'I') OR c."ConNoResponseFlag" = 'Yes')
  AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
  AND {row_scope}
