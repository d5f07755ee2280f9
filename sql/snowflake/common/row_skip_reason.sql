-- The D23 reason a visit row (alias cr) is skipped for, in order: an id that is no uuid or an
-- application visit id that is no number, a provider id that is no uuid, an end before its start;
-- NULL for a usable row. Plan counts these (count_skipped_rows.sql) and explain shows them.
CASE
    WHEN NOT COALESCE(REGEXP_LIKE(cr."Visit Id", %(uuid_pattern)s), FALSE)
        OR NOT COALESCE(REGEXP_LIKE(TRIM(CAST(cr."Application Visit Id" AS VARCHAR)), %(app_id_pattern)s), FALSE)
        THEN 'invalid_visit_id'
    WHEN NOT COALESCE(REGEXP_LIKE(cr."Provider Id", %(uuid_pattern)s), FALSE)
        THEN 'invalid_provider_id'
    WHEN COALESCE(cr."Scheduled End Time" < cr."Scheduled Start Time", FALSE)
        OR COALESCE(cr."Visit End Time" < cr."Visit Start Time", FALSE)
        THEN 'end_before_start'
END
