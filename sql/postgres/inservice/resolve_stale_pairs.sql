-- D12 applied to InService pairs (D14): an InService pair inside the run's window whose scope the run
-- re-evaluated, that the run did not produce, and whose status is 'N' or 'U', becomes 'R'
-- (ResolveDate kept if already set). 'W', 'I', 'D', 'R' are left alone.
-- In scope: every InService pair of the window (window mode), or the pairs with a scoped side (delta
-- mode): a visit or an event id recorded by the step in run_inservice_scope_event, on either side. The
-- delta scope is found from its sides through the "VisitID" and "ConVisitID" indexes (one leg each: an
-- OR-join would fall into a nested loop), so its cost follows the delta, not the table; window mode
-- goes through idx_cvm_inservice_visitdate_ssn. Pairs of excluded SSNs are never in scope (as in D12,
-- where their groups are never scoped). The update goes by "ID". Each resolved pair gets a 'stale' event
-- in the conflict history (migration 0035) in the same statement (old status from the row before the
-- update, `o`). Returns one row per resolved pair.
WITH scoped AS (
    SELECT c."ID"
    FROM conflictvisitmaps c
    WHERE %(whole_window)s
      AND {inservice}
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
    UNION
    SELECT c."ID"
    FROM run_inservice_scope_event s
    JOIN conflictvisitmaps c ON c."VisitID" = s."VisitID"
    WHERE NOT %(whole_window)s
      AND s.run_id = %(run_id)s
      AND {inservice}
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
    UNION
    SELECT c."ID"
    FROM run_inservice_scope_event s
    JOIN conflictvisitmaps c ON c."ConVisitID" = s."VisitID"
    WHERE NOT %(whole_window)s
      AND s.run_id = %(run_id)s
      AND {inservice}
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
),
stale AS (
    SELECT c."ID"
    FROM scoped
    JOIN conflictvisitmaps c ON c."ID" = scoped."ID"
    WHERE c."StatusFlag" IN ('N', 'U')
      AND NOT EXISTS (
          SELECT 1 FROM excluded_ssn x
          WHERE x."SSN" IS NOT NULL AND TRIM(x."SSN") <> '' AND TRIM(x."SSN") = c."SSN"
      )
      AND NOT EXISTS (
          SELECT 1 FROM run_seen_pair p
          WHERE p.run_id = %(run_id)s AND p.chunk = %(chunk)s
            AND p."VisitID" = c."VisitID" AND p."ConVisitID" = c."ConVisitID"
      )
),
resolved AS (
    UPDATE conflictvisitmaps t
    SET "StatusFlag" = 'R',
        "ResolveDate" = COALESCE(t."ResolveDate", %(now)s),
        "UpdatedDate" = %(now)s
    FROM stale, conflictvisitmaps o
    WHERE t."ID" = stale."ID" AND o."ID" = t."ID"
    RETURNING t."ID", t."CONFLICTID", t."VisitID", t."ConVisitID", o."StatusFlag" AS old_status,
        t."StatusFlag" AS new_status
),
events AS (
    INSERT INTO conflict_event (run_id, step, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status,
        new_status, reason, at)
    SELECT %(run_id)s, 'inservice', "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status, new_status,
        'stale', %(now)s
    FROM resolved
)
SELECT "ID" FROM resolved
