-- VC_INSERVICE_CANDIDATE: the visits that could pair with an event, each with why it cannot be used
-- (reason NULL: usable). Run after create_events.sql. A candidate is a FACTVISITCALLPERFORMANCE_CR row
-- of a scoped SSN, inside the window, not missed, with both actual times, at a provider that is not
-- excluded and is active and non-demo (or whose id is not a uuid at all), whose actual interval overlaps
-- (closed interval; its times taken in either order) a usable event of the same SSN at ANOTHER provider.
-- In delta mode (D14) only the pairs of the scoped visits (create_scope_visit.sql) and of the changed
-- events (create_scope_event.sql) are re-evaluated, so a candidate is a scoped visit (any of its
-- person's events may overlap it), or a visit of a person with a changed event that overlaps a changed
-- event. The rows come from VC_INSERVICE_SCOPE_ROW (create_scope_row.sql: found with cheap predicates),
-- so the conversions below run on those rows only. The overlap uses actual visit times only, never
-- scheduled or EVV times (as in the legacy). Reasons (D23, first match): invalid_visit_id,
-- invalid_provider_id (not a uuid, or a non-numeric application provider id), end_before_start.
-- create_visits.sql enriches the usable ones; count_skipped_rows.sql counts the others. The columns
-- are listed (common/visit_fact_read_columns.sql), never `cr.*`.
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_CANDIDATE AS
WITH changed_event AS (
    -- Delta mode: the usable changed events (their SSN, provider and window).
    SELECT e."SSN" AS ssn, e."ProviderID" AS provider_id, e."InserviceStartDate" AS start_at,
        e."InserviceEndDate" AS end_at
    FROM VC_INSERVICE_EVENT e
    WHERE e."VisitID" IN (SELECT visit_id FROM VC_INSERVICE_SCOPE_EVENT)
),
timed_visit AS (
    SELECT
        -- @include snowflake/common/visit_fact_read_columns.sql
        ,
        cr.ssn,
        cr."Visit Id" IN (SELECT visit_id FROM VC_INSERVICE_SCOPE_VISIT) AS scoped,
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Start Time" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS visit_start,
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit End Time" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS visit_end
    FROM VC_INSERVICE_SCOPE_ROW cr
    WHERE CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE)
          BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
      AND COALESCE(LOWER(cr."Provider Id"), '') NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      AND (
          cr."Provider Id" IN (SELECT provider_id FROM VC_INSERVICE_PROVIDER)
          OR NOT COALESCE(REGEXP_LIKE(cr."Provider Id", %(uuid_pattern)s), FALSE)
      )
)
SELECT
    -- @include snowflake/common/visit_fact_read_columns.sql
    ,
    cr.ssn,
    cr.visit_start,
    cr.visit_end,
    CASE
        WHEN NOT COALESCE(REGEXP_LIKE(cr."Visit Id", %(uuid_pattern)s), FALSE)
            THEN 'invalid_visit_id'
        WHEN NOT COALESCE(REGEXP_LIKE(cr."Provider Id", %(uuid_pattern)s), FALSE)
            OR NOT COALESCE(REGEXP_LIKE(TRIM(CAST(cr."Application Provider Id" AS VARCHAR)), %(app_id_pattern)s), FALSE)
            THEN 'invalid_provider_id'
        WHEN cr.visit_end < cr.visit_start THEN 'end_before_start'
    END AS skip_reason
FROM timed_visit cr
WHERE (
    (%(whole_window)s OR cr.scoped)
    AND EXISTS (
        SELECT 1 FROM VC_INSERVICE_EVENT e
        WHERE e."SSN" = cr.ssn
          AND e."ProviderID" <> COALESCE(LOWER(cr."Provider Id"), '')
          AND LEAST(cr.visit_start, cr.visit_end) <= e."InserviceEndDate"
          AND GREATEST(cr.visit_start, cr.visit_end) >= e."InserviceStartDate"
    )
)
OR EXISTS (
    SELECT 1 FROM changed_event e
    WHERE e.ssn = cr.ssn
      AND e.provider_id <> COALESCE(LOWER(cr."Provider Id"), '')
      AND LEAST(cr.visit_start, cr.visit_end) <= e.end_at
      AND GREATEST(cr.visit_start, cr.visit_end) >= e.start_at
)
