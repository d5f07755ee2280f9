-- LEAST/GREATEST return NULL when any argument is NULL on Snowflake (DuckDB skips NULLs; the
-- translation adds the NULL test). InService orders a visit's two times with them.
SELECT
    LEAST(1, NULL) AS least_null,
    GREATEST(1, NULL) AS greatest_null,
    LEAST(2, 1) AS least_values,
    GREATEST(CAST('2024-01-01 09:00:00' AS TIMESTAMP_NTZ), CAST('2024-01-01 10:00:00' AS TIMESTAMP_NTZ)) AS greatest_times
