-- D23: source rows of the chunk's scope that cannot be used, counted per reason (one reason per row,
-- in this order). Rows of excluded SSNs or providers and of inactive/demo providers are out of scope,
-- not bad, and are not counted.
--   * rows of the chunk's delta groups (VC_DELTA_GROUP) that detection skips:
--     invalid_visit_id (visit id not a uuid, or application visit id not an integer), invalid_provider_id
--     (not a uuid), end_before_start (scheduled or actual end before its start);
--   * rows updated since the cutoff that form no group: outside_window (visit date NULL or outside the
--     window), blank_ssn (no caregiver row with a non-blank SSN). They belong to the chunk of their
--     SSN; rows without an SSN are counted by chunk 0 only.
WITH caregiver AS (
    -- @include snowflake/common/caregiver_rows.sql
),
group_row AS (
    SELECT
        CASE
            WHEN NOT COALESCE(REGEXP_LIKE(cr."Visit Id", %(uuid_pattern)s), FALSE)
                OR NOT COALESCE(REGEXP_LIKE(TRIM(CAST(cr."Application Visit Id" AS VARCHAR)), %(app_id_pattern)s), FALSE)
                THEN 'invalid_visit_id'
            WHEN NOT COALESCE(REGEXP_LIKE(cr."Provider Id", %(uuid_pattern)s), FALSE)
                THEN 'invalid_provider_id'
            WHEN COALESCE(cr."Scheduled End Time" < cr."Scheduled Start Time", FALSE)
                OR COALESCE(cr."Visit End Time" < cr."Visit Start Time", FALSE)
                THEN 'end_before_start'
        END AS reason
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN caregiver cg ON cg.caregiver_id = cr."Caregiver Id"
    JOIN VC_DELTA_GROUP dg ON dg.visit_date = CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE) AND dg.ssn = cg.ssn
    WHERE cr."Visit Date" >= CAST(%(visit_date_floor)s AS TIMESTAMP_TZ)
      AND cr."Visit Date" < CAST(%(visit_date_ceiling)s AS TIMESTAMP_TZ)
      AND CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE) BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
      AND LOWER(cr."Provider Id") NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      AND cr."Provider Id" IN (
          SELECT "Provider Id" FROM DIMPROVIDER WHERE "Is Active" = TRUE AND "Is Demo" = FALSE
      )
),
ungrouped_delta_row AS (
    SELECT
        cg.ssn,
        CASE
            WHEN cr."Visit Date" IS NULL
                OR CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE) NOT BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
                THEN 'outside_window'
            WHEN cg.ssn IS NULL THEN 'blank_ssn'
        END AS reason,
        MD5(cg.ssn) AS digest
    FROM FACTVISITCALLPERFORMANCE_CR cr
    LEFT JOIN caregiver cg ON cg.caregiver_id = cr."Caregiver Id"
    WHERE cr."Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
      AND LOWER(cr."Provider Id") NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      AND cr."Provider Id" IN (
          SELECT "Provider Id" FROM DIMPROVIDER WHERE "Is Active" = TRUE AND "Is Demo" = FALSE
      )
      AND (cg.ssn IS NULL OR cg.ssn NOT IN (SELECT ssn FROM VC_EXCLUDED_SSN))
),
chunk_ungrouped_row AS (
    SELECT reason
    FROM ungrouped_delta_row
    WHERE reason IS NOT NULL
      AND (
        %(chunk)s IS NULL
        OR (ssn IS NULL AND %(chunk)s = 0)
        OR
            -- @include snowflake/common/chunk_of_digest.sql
            = %(chunk)s
      )
)
SELECT reason, COUNT(*) AS row_count
FROM (
    SELECT reason FROM group_row WHERE reason IS NOT NULL
    UNION ALL
    SELECT reason FROM chunk_ungrouped_row
) skipped
GROUP BY reason
