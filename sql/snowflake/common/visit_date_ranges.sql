-- The raw "Visit Date" ranges that hold every day of the scope (alias cr): at most eight disjoint
-- ranges of instants bound by the caller (source/common.py visit_date_ranges; unused ones are empty).
-- Constant ranges on the raw column let the engine skip the micro-partitions (row groups) of other
-- dates before it reads any other column; the source is clustered by visit date.
(
    (cr."Visit Date" >= CAST(%(date_range_start_0)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_0)s AS TIMESTAMP_TZ))
    OR (cr."Visit Date" >= CAST(%(date_range_start_1)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_1)s AS TIMESTAMP_TZ))
    OR (cr."Visit Date" >= CAST(%(date_range_start_2)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_2)s AS TIMESTAMP_TZ))
    OR (cr."Visit Date" >= CAST(%(date_range_start_3)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_3)s AS TIMESTAMP_TZ))
    OR (cr."Visit Date" >= CAST(%(date_range_start_4)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_4)s AS TIMESTAMP_TZ))
    OR (cr."Visit Date" >= CAST(%(date_range_start_5)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_5)s AS TIMESTAMP_TZ))
    OR (cr."Visit Date" >= CAST(%(date_range_start_6)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_6)s AS TIMESTAMP_TZ))
    OR (cr."Visit Date" >= CAST(%(date_range_start_7)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(date_range_end_7)s AS TIMESTAMP_TZ))
)
