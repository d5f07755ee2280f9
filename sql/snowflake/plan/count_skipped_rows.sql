-- D23, once per run: source rows of the run's scope that cannot be used, counted per chunk and reason
-- (one reason per row, in this order), and usable rows with a value detection had to ignore, counted
-- per note. Rows of excluded SSNs or providers and of inactive/demo providers are out of scope, not bad,
-- and are not counted. Returns (chunk, reason, row_count); the caller adds up the chunks it detects.
--   * rows of the scope's groups (VC_SCOPE_ROW, common/create_scope_row.sql: each with its group's
--     chunk) that detection skips: invalid_visit_id (visit id not a uuid, or application visit id not an
--     integer), invalid_provider_id (not a uuid), end_before_start (scheduled or actual end before its
--     start), duplicate_visit_row (a second row of the same visit id in the same chunk: D8 keeps one);
--   * notes on the rows it uses (reason 'note:<name>'): unusable_gps (a call-in or call-out GPS text that
--     is there but does not give a latitude and longitude in range: it is ignored, D6),
--     unknown_bill_value ("Billed" not 'yes'/'no' or "Bill Type" not Hourly/Daily/Visit: kept as sent, the
--     billed-rate rule gives 0 as in legacy);
--   * rows updated since the cutoff that form no group: outside_window (visit date NULL or outside the
--     window), invalid_provider_id / missing_provider (the provider id is not in DIMPROVIDER: not a uuid,
--     or unknown), missing_caregiver (the caregiver id is not in DIMCAREGIVER), invalid_ssn (an SSN that
--     is not 9 digits), blank_ssn (blank or NULL). They belong to the chunk of their SSN; rows without
--     an SSN belong to chunk 0.
-- Cheap predicates first: the group rows come from VC_SCOPE_ROW (found without per-row expressions), and
-- the rows updated since the cutoff are selected by a comparison of the raw update time before anything
-- else is computed for them.
WITH caregiver AS (
    -- @include snowflake/common/caregiver_rows.sql
),
caregiver_any AS (
    -- Every caregiver id of the dimension, with an SSN it carries, usable or not.
    SELECT "Caregiver Id" AS caregiver_id, MAX(TRIM("SSN")) AS raw_ssn
    FROM DIMCAREGIVER
    GROUP BY "Caregiver Id"
),
provider_any AS (
    -- Every provider id of the dimension, and whether any of its rows is active and not a demo.
    SELECT "Provider Id" AS provider_id, MAX(IFF("Is Active" = TRUE AND "Is Demo" = FALSE, 1, 0)) AS in_scope
    FROM DIMPROVIDER
    GROUP BY "Provider Id"
),
group_row AS (
    SELECT
        cr.chunk,
        -- @include snowflake/common/row_skip_reason.sql
            AS reason,
        -- @include snowflake/common/unusable_gps.sql
            AS unusable_gps,
        COALESCE(cr."Billed" NOT IN ('yes', 'no'), FALSE)
            OR COALESCE(cr."Bill Type" NOT IN ('Hourly', 'Daily', 'Visit'), FALSE) AS unknown_bill_value,
        -- The order detection's D8 keeps the first row of a visit id in (select_conflict_pairs.sql); each
        -- chunk detects its own rows, so a visit id's copies in two chunks are no duplicates.
        ROW_NUMBER() OVER (
            PARTITION BY cr.chunk, LOWER(cr."Visit Id"),
                CASE
                    WHEN NOT COALESCE(REGEXP_LIKE(cr."Visit Id", %(uuid_pattern)s), FALSE)
                        OR NOT COALESCE(REGEXP_LIKE(TRIM(CAST(cr."Application Visit Id" AS VARCHAR)), %(app_id_pattern)s), FALSE)
                        OR NOT COALESCE(REGEXP_LIKE(cr."Provider Id", %(uuid_pattern)s), FALSE)
                        OR COALESCE(cr."Scheduled End Time" < cr."Scheduled Start Time", FALSE)
                        OR COALESCE(cr."Visit End Time" < cr."Visit Start Time", FALSE)
                        THEN 0
                    ELSE 1
                END
            ORDER BY cr."Visit Updated Timestamp" DESC NULLS LAST, cr."Application Visit Id" NULLS LAST,
                cr."Provider Id", cr."Scheduled Start Time" NULLS LAST, cr."Scheduled End Time" NULLS LAST,
                cr."Visit Start Time" NULLS LAST, cr."Visit End Time" NULLS LAST
        ) AS copy_number
    FROM VC_SCOPE_ROW cr
    WHERE LOWER(cr."Provider Id") NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      AND cr."Provider Id" IN (
          SELECT "Provider Id" FROM DIMPROVIDER WHERE "Is Active" = TRUE AND "Is Demo" = FALSE
      )
),
group_reason AS (
    SELECT chunk, COALESCE(reason, IFF(copy_number > 1, 'duplicate_visit_row', NULL)) AS reason
    FROM group_row
    UNION ALL
    SELECT chunk, 'note:unusable_gps' FROM group_row WHERE reason IS NULL AND copy_number = 1 AND unusable_gps
    UNION ALL
    SELECT chunk, 'note:unknown_bill_value' FROM group_row
    WHERE reason IS NULL AND copy_number = 1 AND unknown_bill_value
),
ungrouped_delta_row AS (
    SELECT
        cg.ssn,
        CASE
            WHEN cr."Visit Date" IS NULL
                OR CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE) NOT BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
                THEN 'outside_window'
            WHEN pa.provider_id IS NULL AND NOT COALESCE(REGEXP_LIKE(cr."Provider Id", %(uuid_pattern)s), FALSE)
                THEN 'invalid_provider_id'
            WHEN pa.provider_id IS NULL THEN 'missing_provider'
            WHEN ca.caregiver_id IS NULL THEN 'missing_caregiver'
            WHEN cg.ssn IS NULL AND COALESCE(ca.raw_ssn, '') <> '' THEN 'invalid_ssn'
            WHEN cg.ssn IS NULL THEN 'blank_ssn'
        END AS reason,
        MD5(cg.ssn) AS digest
    FROM FACTVISITCALLPERFORMANCE_CR cr
    LEFT JOIN caregiver cg ON cg.caregiver_id = cr."Caregiver Id"
    LEFT JOIN caregiver_any ca ON ca.caregiver_id = cr."Caregiver Id"
    LEFT JOIN provider_any pa ON pa.provider_id = cr."Provider Id"
    WHERE cr."Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
      AND LOWER(COALESCE(cr."Provider Id", '')) NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      -- Inactive and demo providers are out of scope, not bad; unknown ones are counted.
      AND (pa.provider_id IS NULL OR pa.in_scope = 1)
      AND (cg.ssn IS NULL OR cg.ssn NOT IN (SELECT ssn FROM VC_EXCLUDED_SSN))
),
chunked_ungrouped_row AS (
    SELECT
        CASE
            WHEN ssn IS NULL THEN 0
            ELSE
                -- @include snowflake/common/chunk_of_digest.sql
        END AS chunk,
        reason
    FROM ungrouped_delta_row
    WHERE reason IS NOT NULL
)
SELECT chunk, reason, COUNT(*) AS row_count
FROM (
    SELECT chunk, reason FROM group_reason WHERE reason IS NOT NULL
    UNION ALL
    SELECT chunk, reason FROM chunked_ungrouped_row
) skipped
GROUP BY chunk, reason
