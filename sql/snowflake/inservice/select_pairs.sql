-- InService pairs (D14): every eligible visit and every InService
-- event of the same SSN at a DIFFERENT provider whose intervals overlap, closed interval (touching
-- endpoints count): visit start <= event end AND visit end >= event start. Both directions are emitted
-- as separate ordered pairs: visit -> event and event -> visit. Each side's columns come from
-- VC_INSERVICE_VISIT or VC_INSERVICE_EVENT (same columns, same order): V1 is the primary (un-prefixed
-- columns), V2 the conflicting side ("Con" prefix); VisitDate and SSN are always V1's. The seven rule
-- flags are 'N' and the distance/travel metrics NULL. One row per ordered pair key (D8: one side row
-- per id). Delta mode (D14): only the pairs of a scoped visit (create_scope_visit.sql) or of a changed
-- event (create_scope_event.sql), the ones the stale cleanup may resolve (a visit that is a candidate
-- only for a changed event also overlaps unchanged events: those pairs are not re-evaluated); window
-- mode: every pair. Output: the pair columns shared with detection (common/pair_columns.sql), then the
-- InService window of both sides: visit_conflicts.columns.INSERVICE_PAIR_COLUMNS (CONFLICTID is
-- assigned in PostgreSQL).
WITH side AS (
    SELECT * FROM VC_INSERVICE_VISIT
    UNION ALL
    SELECT * FROM VC_INSERVICE_EVENT
),
overlap AS (
    SELECT v."VisitID" AS visit_id, e."VisitID" AS event_id
    FROM VC_INSERVICE_VISIT v
    JOIN VC_INSERVICE_EVENT e
      ON e."SSN" = v."SSN"
     AND e."ProviderID" <> v."ProviderID"
     AND v."VisitStartTime" <= e."InserviceEndDate"
     AND v."VisitEndTime" >= e."InserviceStartDate"
    WHERE %(whole_window)s
       OR v."VisitID" IN (SELECT LOWER(visit_id) FROM VC_INSERVICE_SCOPE_VISIT)
       OR e."VisitID" IN (SELECT visit_id FROM VC_INSERVICE_SCOPE_EVENT)
),
oriented AS (
    SELECT visit_id AS id1, event_id AS id2 FROM overlap
    UNION ALL
    SELECT event_id AS id1, visit_id AS id2 FROM overlap
),
pair_flag AS (
    -- An InService pair evaluates no rule (D14): its seven flags are 'N' and its metrics NULL.
    SELECT
        o.id1,
        o.id2,
        CAST(NULL AS BIGINT) AS minute_gap,
        CAST(NULL AS DOUBLE) AS distance_miles,
        CAST(NULL AS DOUBLE) AS mph,
        CAST(NULL AS DOUBLE) AS eta_minutes,
        'N' AS "SameSchTimeFlag",
        'N' AS "SameVisitTimeFlag",
        'N' AS "SchAndVisitTimeSameFlag",
        'N' AS "SchOverAnotherSchTimeFlag",
        'N' AS "VisitTimeOverAnotherVisitTimeFlag",
        'N' AS "SchTimeOverVisitTimeFlag",
        'N' AS "DistanceFlag"
    FROM oriented o
)
SELECT
    -- @include snowflake/common/pair_columns.sql
    ,
    v1."InserviceStartDate" AS "InserviceStartDate",
    v1."InserviceEndDate" AS "InserviceEndDate",
    v2."InserviceStartDate" AS "ConInserviceStartDate",
    v2."InserviceEndDate" AS "ConInserviceEndDate"
FROM pair_flag f
JOIN side v1 ON v1."VisitID" = f.id1
JOIN side v2 ON v2."VisitID" = f.id2
