-- D17 amended, applying the changes: the conflictvisitmaps rows whose staging copy is redone (deleted,
-- then copied again when they still belong): the pairs in the change log, every pair of a conflict in
-- the change log (staging carries the parent's status and review flag), and the pairs whose visit date
-- entered the window since the last refresh (new window minus old window, both ends inclusive; the
-- three UNION ALL branches use the three partial VisitDate indexes that together cover every row with
-- a CONFLICTID, migrations 0006, 0002 and 0033).
CREATE TEMP TABLE _staging_pairs ON COMMIT DROP AS
SELECT pair_id AS "ID" FROM _staging_log WHERE pair_id IS NOT NULL
UNION
SELECT c."ID"
FROM conflictvisitmaps c
WHERE c."CONFLICTID" IN (SELECT conflict_id FROM _staging_log WHERE conflict_id IS NOT NULL)
UNION
SELECT e."ID" FROM (
    SELECT c."ID", c."VisitDate"
    FROM conflictvisitmaps c
    WHERE c."CONFLICTID" IS NOT NULL
      AND c."InserviceStartDate" IS NULL AND c."InserviceEndDate" IS NULL
      AND c."ConInserviceStartDate" IS NULL AND c."ConInserviceEndDate" IS NULL
      AND c."PTOStartDate" IS NULL AND c."PTOEndDate" IS NULL
      AND c."ConPTOStartDate" IS NULL AND c."ConPTOEndDate" IS NULL
      AND (c."VisitDate" BETWEEN %(window_start)s AND %(old_start)s - 1
           OR c."VisitDate" BETWEEN %(old_end)s + 1 AND %(window_end)s)
    UNION ALL
    SELECT c."ID", c."VisitDate"
    FROM conflictvisitmaps c
    WHERE (c."InserviceStartDate" IS NOT NULL OR c."ConInserviceStartDate" IS NOT NULL)
      AND (c."VisitDate" BETWEEN %(window_start)s AND %(old_start)s - 1
           OR c."VisitDate" BETWEEN %(old_end)s + 1 AND %(window_end)s)
    UNION ALL
    SELECT c."ID", c."VisitDate"
    FROM conflictvisitmaps c
    WHERE c."CONFLICTID" IS NOT NULL
      AND c."InserviceStartDate" IS NULL AND c."ConInserviceStartDate" IS NULL
      AND NOT (c."InserviceEndDate" IS NULL AND c."ConInserviceEndDate" IS NULL
               AND c."PTOStartDate" IS NULL AND c."PTOEndDate" IS NULL
               AND c."ConPTOStartDate" IS NULL AND c."ConPTOEndDate" IS NULL)
      AND (c."VisitDate" BETWEEN %(window_start)s AND %(old_start)s - 1
           OR c."VisitDate" BETWEEN %(old_end)s + 1 AND %(window_end)s)
) e
