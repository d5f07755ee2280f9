-- Delta scope, step 3 (D16): every pair of every candidate conflict (so the per-conflict units see whole
-- conflicts, exactly as the window pass does), plus the seed pairs without a conflict, each with the
-- facts of the pair that the units test: inside the window, written by the pipeline since the cutoff
-- (the only way the inputs of the computed columns change), missed visit, legacy UpdateFlag marker,
-- conflicting agency's no-response. None of these is changed by the units before the unit that reads it.
INSERT INTO _status_scope_row ("ID", "CONFLICTID", status, in_window, written, missed, marked, con_no_response)
SELECT p."ID", p."CONFLICTID", p."StatusFlag",
       COALESCE(p."VisitDate" BETWEEN %(window_start)s AND %(window_end)s, FALSE),
       COALESCE(p."UpdatedDate" >= %(cutoff)s, FALSE) OR COALESCE(p."CreatedDate" >= %(cutoff)s, FALSE),
       COALESCE(p."IsMissed", FALSE) OR COALESCE(p."ConIsMissed", FALSE),
       COALESCE(p."UpdateFlag" = 1, FALSE),
       COALESCE(p."ConNoResponseFlag" = 'Yes', FALSE)
FROM (
    SELECT c."ID", c."CONFLICTID", c."StatusFlag", c."VisitDate", c."UpdatedDate", c."CreatedDate",
           c."IsMissed", c."ConIsMissed", c."UpdateFlag", c."ConNoResponseFlag"
    FROM _status_scope_conflict k
    JOIN conflictvisitmaps c ON c."CONFLICTID" = k."CONFLICTID"
    UNION ALL
    SELECT c."ID", c."CONFLICTID", c."StatusFlag", c."VisitDate", c."UpdatedDate", c."CreatedDate",
           c."IsMissed", c."ConIsMissed", c."UpdateFlag", c."ConNoResponseFlag"
    FROM _status_scope_seed s
    JOIN conflictvisitmaps c ON c."ID" = s."ID"
    WHERE s."CONFLICTID" IS NULL AND c."CONFLICTID" IS NULL
) p
