-- VC_SCOPE_ROW: every source visit row of the scope's groups (VC_DELTA_GROUP, each with its chunk),
-- usable or not, found with cheap predicates only: the raw "Visit Date" inside the bound ranges
-- (common/visit_date_ranges.sql: the engine skips other dates' partitions), an equi-join on the raw
-- "Caregiver Id" with the scope's caregivers, and the raw "Visit Date" between the instants that start
-- and end the group's business day (VC_WINDOW_DAY). No regular expression, time-zone conversion or
-- other per-row expression runs on the rows of other groups: the statements that read this table
-- (detect's pair query, plan's skip counts) apply them to these rows only. A row belongs to at most one
-- group (one SSN per caregiver, one day per instant).
CREATE OR REPLACE TEMPORARY TABLE VC_SCOPE_ROW AS
WITH scope_day AS (
    SELECT cg.caregiver_id, dg.ssn, dg.chunk, wd.day_start, wd.day_end
    FROM VC_DELTA_GROUP dg
    JOIN VC_SCOPE_CAREGIVER cg ON cg.ssn = dg.ssn
    JOIN VC_WINDOW_DAY wd ON wd.visit_date = dg.visit_date
)
SELECT
    -- @include snowflake/common/visit_fact_read_columns.sql
    ,
    sd.ssn,
    sd.chunk
FROM FACTVISITCALLPERFORMANCE_CR cr
JOIN scope_day sd
  ON sd.caregiver_id = cr."Caregiver Id"
 AND cr."Visit Date" >= sd.day_start
 AND cr."Visit Date" < sd.day_end
WHERE
    -- @include snowflake/common/visit_date_ranges.sql
