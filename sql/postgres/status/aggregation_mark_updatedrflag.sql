-- A-6 aggregation_mark_updatedrflag: conflicts with at least one pair inside the window carry
-- UpdatedRFlag = '1', except those that aggregation_status_u_propagation reopened to 'U' (flag NULL,
-- status 'U'): they keep NULL while they stay 'U'. Legacy cleared the mark only for the run in which the
-- conflict received its 'U'; that "this run" cannot be told apart from an earlier run once the row is
-- written, so a rerun would flip the flag back. Keeping NULL for as long as the status stays 'U' makes the
-- step converge (D16 rerun safety). The WHERE repeats the predicate of idx_cf_updatedrflag_unmarked.
UPDATE conflicts f
SET "UpdatedRFlag" = '1'
WHERE ((f."UpdatedRFlag" IS NULL AND f."StatusFlag" IS DISTINCT FROM 'U') OR f."UpdatedRFlag" <> '1')
  AND EXISTS (
      SELECT 1 FROM conflictvisitmaps c
      WHERE c."CONFLICTID" = f."CONFLICTID"
        AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
  )
  AND {conflict_scope}
