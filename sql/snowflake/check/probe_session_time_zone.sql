-- The session works in UTC (sql/snowflake/connection/set_session_time_zone.sql): an NTZ value cast to
-- TIMESTAMP_TZ, and a DATE compared with a TIMESTAMP_TZ, are read at UTC on both engines.
SELECT
    CAST(CAST('2024-07-01 12:00:00' AS TIMESTAMP_NTZ) AS TIMESTAMP_TZ)
        = CAST('2024-07-01 12:00:00+00:00' AS TIMESTAMP_TZ) AS ntz_read_as_utc,
    CAST('2024-07-01' AS DATE) = CAST('2024-07-01 00:00:00+00:00' AS TIMESTAMP_TZ) AS date_read_as_utc
