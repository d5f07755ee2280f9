-- Session table of the business days of the run's window (D1): each date with the instants at which it
-- starts and ends in the business time zone, computed by the caller (source/common.py). A source row's
-- "Visit Date" falls on day d exactly when day_start <= "Visit Date" < day_end, a test of the raw
-- TIMESTAMP_TZ column: the rows of a scope are found without a time-zone conversion per source row.
CREATE OR REPLACE TEMPORARY TABLE VC_WINDOW_DAY (visit_date DATE, day_start TIMESTAMP_TZ, day_end TIMESTAMP_TZ)
