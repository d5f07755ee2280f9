-- A-11 noresponse_flag_cvm (legacy target kept, D15): a pair inside the window whose conflicting agency
-- did not respond (ConNoResponseFlag 'Yes') and that is not 'R' or 'D' is reopened: 'N', resolution
-- cleared. Rows already in that state are not written. (Legacy forced a sequential scan here to dodge its
-- partial StatusFlag indexes; this schema does not have them, see 0002.)
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'N',
    "ResolveDate" = NULL,
    "ResolvedBy" = NULL
WHERE c."ConNoResponseFlag" = 'Yes'
  AND c."StatusFlag" NOT IN ('R', 'D')
  AND (c."StatusFlag" <> 'N' OR c."ResolveDate" IS NOT NULL OR c."ResolvedBy" IS NOT NULL)
  AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
  AND {row_scope}
