-- Delta groups of one chunk (D4): the distinct (visit date, trimmed SSN) having at least one visit
-- updated at or after the run's cutoff, with the visit date inside the run's window, the provider
-- neither excluded nor inactive/demo, and the SSN neither blank nor excluded. All run parameters are
-- bound literals (D1). An unusable visit (D23: bad visit id, end before start) still puts its group in
-- scope, so pairs it used to form are resolved while it cannot be evaluated.
--
-- The chunk of a group comes from its SSN (common/chunk_of_digest.sql). A NULL chunk parameter keeps
-- every chunk.
CREATE OR REPLACE TEMPORARY TABLE VC_DELTA_GROUP AS
WITH caregiver AS (
    -- @include snowflake/common/caregiver_rows.sql
),
delta AS (
    SELECT DISTINCT CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE) AS visit_date, cg.ssn
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN caregiver cg ON cg.caregiver_id = cr."Caregiver Id"
    WHERE cr."Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
      AND cr."Visit Date" >= CAST(%(visit_date_floor)s AS TIMESTAMP_TZ)
      AND cr."Visit Date" < CAST(%(visit_date_ceiling)s AS TIMESTAMP_TZ)
      AND CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE) BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
      AND LOWER(cr."Provider Id") NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      AND cg.ssn NOT IN (SELECT ssn FROM VC_EXCLUDED_SSN)
      AND cr."Provider Id" IN (
          SELECT "Provider Id" FROM DIMPROVIDER WHERE "Is Active" = TRUE AND "Is Demo" = FALSE
      )
),
hashed AS (
    SELECT visit_date, ssn, MD5(ssn) AS digest
    FROM delta
),
chunked AS (
    SELECT
        visit_date,
        ssn,
        -- @include snowflake/common/chunk_of_digest.sql
        AS chunk
    FROM hashed
)
SELECT visit_date, ssn, chunk
FROM chunked
WHERE %(chunk)s IS NULL OR chunk = %(chunk)s
