-- A-5 updateflag_orphan_cleanup: pairs inside the window still carrying the legacy "marked for
-- re-detection" UpdateFlag = 1 (nothing in this system sets it; migrated data only) are resolved: the
-- marker is cleared, 'D' stays 'D', any other status becomes 'R'. 'W' and 'I' rows are not touched at all
-- (D15) unless noresponse_flag_cvm reopens them in this run (ConNoResponseFlag 'Yes'). "ResolvedBy", first
-- match wins: 'D' -> conflicting agency; primary visit missed -> primary agency; conflicting visit missed
-- -> conflicting agency; else the existing value, then the conflicting agency.
UPDATE conflictvisitmaps c
SET "UpdateFlag" = NULL,
    "StatusFlag" = CASE WHEN c."StatusFlag" = 'D' THEN 'D' ELSE 'R' END,
    "ResolveDate" = COALESCE(c."ResolveDate", %(now)s),
    "ResolvedBy" = CASE
        WHEN c."StatusFlag" = 'D' THEN COALESCE(c."ConAgencyContact", c."ConProviderName")
        WHEN c."IsMissed" THEN COALESCE(c."AgencyContact", c."ProviderName")
        WHEN c."ConIsMissed" THEN COALESCE(c."ConAgencyContact", c."ConProviderName")
        ELSE COALESCE(c."ResolvedBy", c."ConAgencyContact", c."ConProviderName")
    END
WHERE c."UpdateFlag" = 1
  AND (COALESCE(c."StatusFlag", '') NOT IN ('W', 'I') OR c."ConNoResponseFlag" = 'Yes')
  AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
  AND {row_scope}
