-- A-7 aggregation_status_u_propagation: a conflict with a 'U' pair inside the window becomes 'U' and its
-- UpdatedRFlag is cleared. In practice 'N' or 'R' conflicts: 'D' and 'U' are left alone, and 'W' and 'I'
-- too (D15) unless noresponse_flag_cf reopens them in this run (NoResponseFlag 'Yes').
UPDATE conflicts f
SET "StatusFlag" = 'U',
    "UpdatedRFlag" = NULL
WHERE f."StatusFlag" NOT IN ('D', 'U')
  AND (f."StatusFlag" NOT IN ('W', 'I') OR f."NoResponseFlag" = 'Yes')
  AND EXISTS (
      SELECT 1 FROM conflictvisitmaps c
      WHERE c."CONFLICTID" = f."CONFLICTID"
        AND c."StatusFlag" = 'U'
        AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
  )
  AND {conflict_scope}
