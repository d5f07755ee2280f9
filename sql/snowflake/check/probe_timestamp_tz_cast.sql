-- Known divergence (the pipeline never does this; tests/unit/test_snowflake_sql.py forbids it): a
-- TIMESTAMP_TZ cast straight to NTZ or DATE. Snowflake keeps the value's own offset (23:30 on the
-- 10th); the emulation converts to UTC first (04:30 on the 11th).
SELECT
    CAST(CAST('2024-03-10 23:30:00-05:00' AS TIMESTAMP_TZ) AS TIMESTAMP_NTZ) AS tz_to_ntz,
    CAST(CAST('2024-03-10 23:30:00-05:00' AS TIMESTAMP_TZ) AS DATE) AS tz_to_date
