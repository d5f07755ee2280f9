-- Every source session works in UTC (run by visit_conflicts.source.connection on each new connection).
-- Snowflake reads the session zone wherever a value has no zone of its own: a TIMESTAMP_NTZ cast to
-- TIMESTAMP_TZ, a DATE compared with a TIMESTAMP_TZ, the 2-argument CONVERT_TIMEZONE of an NTZ value.
-- Its default is America/Los_Angeles and an account or user may set another; the emulation always
-- works in UTC (devkit.emulation skips this statement). With one zone the same SQL gives the same
-- answers on both engines.
ALTER SESSION SET TIMEZONE = 'UTC'
