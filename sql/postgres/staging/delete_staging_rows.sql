-- D17 amended: the staging rows whose copy is redone (_staging_pairs), and those that left the window.
-- Two index lookups (by "ID", by "VisitDate"), in the refresh's transaction. Returns the rows removed.
WITH redone AS (
    DELETE FROM conflictlog_staging s
    USING _staging_pairs p
    WHERE s."ID" = p."ID"
    RETURNING 1
),
outside AS (
    DELETE FROM conflictlog_staging s
    WHERE s."VisitDate" < %(window_start)s OR s."VisitDate" > %(window_end)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM redone) + (SELECT count(*) FROM outside)
