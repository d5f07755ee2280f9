-- A-10 noresponse_flag_cf (legacy target kept, D15): a conflict whose primary agency did not respond
-- (NoResponseFlag 'Yes') is reopened: 'U', 'W' or 'I' become 'N' and the resolution is cleared. Only
-- conflicts with at least one pair inside the window.
UPDATE conflicts f
SET "StatusFlag" = 'N',
    "ResolveDate" = NULL,
    "ResolvedBy" = NULL
WHERE f."NoResponseFlag" = 'Yes'
  AND f."StatusFlag" IN ('U', 'W', 'I')
  AND EXISTS (
      SELECT 1 FROM conflictvisitmaps c
      WHERE c."CONFLICTID" = f."CONFLICTID"
        AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
  )
  AND {conflict_scope}
