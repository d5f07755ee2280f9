-- A dry run's sample (issue 14): up to %(sample)s events of each kind of change, oldest first, read
-- inside the dry run's transaction before its rollback. Kinds: inserted (new pairs), updated ('changed',
-- 'reopened'), resolved ('stale', 'deleted_visit') and cascaded (the status units' other changes);
-- parent conflicts are sampled with their pairs' kind.
WITH kinds AS (
    SELECT e.*,
        CASE
            WHEN reason = 'insert' THEN 'inserted'
            WHEN reason IN ('changed', 'reopened') THEN 'updated'
            WHEN reason IN ('stale', 'deleted_visit') THEN 'resolved'
            ELSE 'cascaded'
        END AS kind
    FROM conflict_event e
    WHERE run_id = %(run_id)s
),
ranked AS (
    SELECT k.*, row_number() OVER (PARTITION BY kind ORDER BY event_id) AS n FROM kinds k
)
SELECT kind, step, reason, detail, "ID", "CONFLICTID", "VisitID"::text AS "VisitID",
    "ConVisitID"::text AS "ConVisitID", old_status, new_status
FROM ranked
WHERE n <= %(sample)s
ORDER BY kind, event_id
