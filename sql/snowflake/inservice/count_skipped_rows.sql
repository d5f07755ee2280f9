-- D23: unusable source rows of the InService scope, counted per reason (one reason per row, in this
-- order). Run after create_candidates.sql. Rows of excluded SSNs or providers and of inactive/demo
-- providers are out of scope, not bad, and are not counted.
--   * events: updated at or after the cutoff (delta mode), or starting inside the window or without a
--     start (window mode): invalid_event_id (no application id), blank_ssn (no caregiver row with a
--     non-blank SSN), invalid_provider_id (not a uuid), missing_time (no start or no end),
--     end_before_start, outside_window (start date outside the window);
--   * visits: the unusable candidates of create_candidates.sql (visits of the scoped SSNs that overlap
--     an event at another provider), per their skip_reason.
-- Returns (side, reason, row_count) with side 'event' or 'visit'.
WITH event_row AS (
    SELECT
        CASE
            WHEN e."Application Caregiver Inservice Id" IS NULL THEN 'invalid_event_id'
            WHEN cg.ssn IS NULL THEN 'blank_ssn'
            WHEN NOT COALESCE(REGEXP_LIKE(e."Provider Id", %(uuid_pattern)s), FALSE)
                THEN 'invalid_provider_id'
            WHEN e."Inservice start date" IS NULL OR e."Inservice end date" IS NULL THEN 'missing_time'
            WHEN e."Inservice end date" < e."Inservice start date" THEN 'end_before_start'
            WHEN CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(e."Inservice start date" AS TIMESTAMP_TZ)) AS DATE)
                NOT BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
                THEN 'outside_window'
        END AS reason
    FROM FACTCAREGIVERINSERVICE e
    LEFT JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = e."Caregiver Id"
    WHERE (
            (NOT %(whole_window)s AND e."Updated Date" >= CAST(%(cutoff)s AS TIMESTAMP_TZ))
            OR (
                %(whole_window)s
                AND (
                    e."Inservice start date" IS NULL
                    OR CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(e."Inservice start date" AS TIMESTAMP_TZ)) AS DATE)
                       BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
                )
            )
        )
      AND (cg.ssn IS NULL OR cg.ssn NOT IN (SELECT ssn FROM VC_EXCLUDED_SSN))
      AND COALESCE(LOWER(e."Provider Id"), '') NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      AND (
          e."Provider Id" IN (SELECT provider_id FROM VC_INSERVICE_PROVIDER)
          OR NOT COALESCE(REGEXP_LIKE(e."Provider Id", %(uuid_pattern)s), FALSE)
      )
)
SELECT 'event' AS side, reason, COUNT(*) AS row_count FROM event_row WHERE reason IS NOT NULL GROUP BY reason
UNION ALL
SELECT 'visit' AS side, skip_reason AS reason, COUNT(*) AS row_count
FROM VC_INSERVICE_CANDIDATE
WHERE skip_reason IS NOT NULL
GROUP BY skip_reason
