-- DATEDIFF counts unit boundaries crossed, not elapsed units, on both engines; D7's minute gap is
-- FLOOR(DATEDIFF(second, ...) / 60), so it counts whole minutes.
SELECT
    DATEDIFF(minute, CAST('2024-01-01 10:00:59' AS TIMESTAMP_NTZ), CAST('2024-01-01 10:01:00' AS TIMESTAMP_NTZ)) AS minute_boundary,
    DATEDIFF(second, CAST('2024-01-01 10:00:59.999' AS TIMESTAMP_NTZ), CAST('2024-01-01 10:01:00.001' AS TIMESTAMP_NTZ)) AS second_boundary,
    DATEDIFF(day, CAST('2024-01-01 23:59:59' AS TIMESTAMP_NTZ), CAST('2024-01-02 00:00:00' AS TIMESTAMP_NTZ)) AS day_boundary,
    DATEDIFF(hour, CAST('2024-01-01 10:59:00' AS TIMESTAMP_NTZ), CAST('2024-01-01 10:00:00' AS TIMESTAMP_NTZ)) AS hour_backwards,
    FLOOR(DATEDIFF(second, CAST('2024-01-01 10:00:00' AS TIMESTAMP_NTZ), CAST('2024-01-01 10:01:59' AS TIMESTAMP_NTZ)) / 60) AS whole_minutes
