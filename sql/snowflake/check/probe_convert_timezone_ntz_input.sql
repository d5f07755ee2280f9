-- Known divergence (the pipeline never does this; tests/unit/test_snowflake_sql.py forbids it): the
-- 2-argument CONVERT_TIMEZONE of an NTZ value. Snowflake reads the value in the session zone (UTC)
-- and converts to New York (01:30); the emulation reads it as New York time and converts to UTC (10:30).
SELECT
    CAST(CONVERT_TIMEZONE('America/New_York', CAST('2024-03-10 06:30:00' AS TIMESTAMP_NTZ)) AS TIMESTAMP_NTZ) AS ntz_converted
