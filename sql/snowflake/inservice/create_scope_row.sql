-- VC_INSERVICE_SCOPE_ROW: the source visit rows that may be InService candidates (create_candidates.sql),
-- found with cheap predicates only, so that the time-zone conversions and checks of the candidates run
-- on these rows and not on every visit of the window: the raw "Visit Date" range around the window, an
-- equi-join on the raw "Caregiver Id" with the caregivers of the scoped SSNs (create_scope_ssn.sql), not
-- missed, both actual times present, and in delta mode (D14) a scoped visit (create_scope_visit.sql,
-- matched on its raw id) or a visit of a person with a changed usable event (create_scope_event.sql,
-- create_events.sql). Run after create_events.sql.
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_SCOPE_ROW AS
WITH scope_caregiver AS (
    SELECT cg.caregiver_id, cg.ssn
    FROM VC_INSERVICE_CAREGIVER cg
    JOIN VC_INSERVICE_SCOPE_SSN s ON s.ssn = cg.ssn
),
changed_event_ssn AS (
    SELECT DISTINCT e."SSN" AS ssn
    FROM VC_INSERVICE_EVENT e
    WHERE e."VisitID" IN (SELECT visit_id FROM VC_INSERVICE_SCOPE_EVENT)
)
SELECT
    -- @include snowflake/common/visit_fact_read_columns.sql
    ,
    sc.ssn
FROM FACTVISITCALLPERFORMANCE_CR cr
JOIN scope_caregiver sc ON sc.caregiver_id = cr."Caregiver Id"
WHERE cr."Visit Date" >= CAST(%(visit_date_floor)s AS TIMESTAMP_TZ)
  AND cr."Visit Date" < CAST(%(visit_date_ceiling)s AS TIMESTAMP_TZ)
  AND cr."Is Missed" = FALSE
  AND cr."Visit Start Time" IS NOT NULL
  AND cr."Visit End Time" IS NOT NULL
  AND (
      %(whole_window)s
      OR cr."Visit Id" IN (SELECT visit_id FROM VC_INSERVICE_SCOPE_VISIT)
      OR sc.ssn IN (SELECT ssn FROM changed_event_ssn)
  )
