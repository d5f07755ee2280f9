-- VC_INSERVICE_CANDIDATE: the visits of the scoped SSNs that could pair with an event, each with why
-- it cannot be used (reason NULL: usable). Run after create_events.sql. A candidate is a
-- FACTVISITCALLPERFORMANCE_CR row inside the window, not missed, with both actual times, of a caregiver
-- with a usable SSN, at a provider that is not excluded and is active and non-demo (or whose id is not
-- a uuid at all), whose actual interval overlaps (closed interval; its times taken in either order) a
-- usable event of the same SSN at ANOTHER provider. The overlap uses actual visit times only, never
-- scheduled or EVV times (other-actions.md C.2). Reasons (D23, first match): invalid_visit_id,
-- invalid_provider_id (not a uuid, or a non-numeric application provider id), end_before_start.
-- create_visits.sql enriches the usable ones; count_skipped_rows.sql counts the others. The columns are
-- listed (common/visit_fact_read_columns.sql), never `cr.*` over the source view.
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_CANDIDATE AS
WITH timed_visit AS (
    SELECT
        -- @include snowflake/common/visit_fact_read_columns.sql
        ,
        cg.ssn,
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Start Time" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS visit_start,
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit End Time" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS visit_end
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = cr."Caregiver Id"
    JOIN VC_INSERVICE_SCOPE_SSN s ON s.ssn = cg.ssn
    WHERE CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE)
          BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
      AND cr."Is Missed" = FALSE
      AND cr."Visit Start Time" IS NOT NULL
      AND cr."Visit End Time" IS NOT NULL
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
WHERE EXISTS (
    SELECT 1 FROM VC_INSERVICE_EVENT e
    WHERE e."SSN" = cr.ssn
      AND e."ProviderID" <> COALESCE(LOWER(cr."Provider Id"), '')
      AND LEAST(cr.visit_start, cr.visit_end) <= e."InserviceEndDate"
      AND GREATEST(cr.visit_start, cr.visit_end) >= e."InserviceStartDate"
)
