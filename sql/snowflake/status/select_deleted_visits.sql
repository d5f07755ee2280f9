-- Phase B fetch (fetch_deleted_visit_ids, D15): the visits deleted in the source since the run's
-- watermark cutoff (D2), one row per distinct "Visit Id" and window test, with its number of source
-- rows. The caller keeps the ids inside the window that parse as uuids and counts the other rows per
-- reason (D23). All run parameters are bound literals (D1); the window is the run's inclusive date range
-- in the business time zone (legacy compared a DATE with GETDATE() and dropped the first day, I.15).
SELECT
    "Visit Id" AS visit_id,
    COALESCE(
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST("Visit Date" AS TIMESTAMP_TZ)) AS DATE)
            BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE),
        FALSE
    ) AS in_window,
    COUNT(*) AS source_rows
FROM FACTVISITCALLPERFORMANCE_DELETED_CR
WHERE "Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
GROUP BY 1, 2
