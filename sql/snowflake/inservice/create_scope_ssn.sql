-- The caregiver SSNs (trimmed, not blank, not excluded) whose InService events the run loads
-- (create_events.sql), and whose visits may be candidates (create_candidates.sql). Only SSNs with an
-- InService event starting inside the window can have pairs.
--   * window mode (whole_window TRUE): every SSN with an event starting inside the window;
--   * delta mode (D14): the SSNs of the scoped visits (create_scope_visit.sql: their pairs are
--     re-evaluated against every event of their person) and of the events updated at or after the
--     cutoff (any start date: an event that moved out of the window still has pairs to resolve; its
--     person's visits may pair with it or, no longer overlapped at their own provider, with others).
-- All run parameters are bound literals (D1).
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_SCOPE_SSN AS
WITH event_ssn AS (
    SELECT DISTINCT cg.ssn
    FROM FACTCAREGIVERINSERVICE e
    JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = e."Caregiver Id"
    WHERE CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(e."Inservice start date" AS TIMESTAMP_TZ)) AS DATE)
          BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
),
changed_event_ssn AS (
    SELECT DISTINCT cg.ssn
    FROM FACTCAREGIVERINSERVICE e
    JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = e."Caregiver Id"
    WHERE e."Updated Date" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
),
scope_visit_ssn AS (
    SELECT DISTINCT cg.ssn
    FROM VC_INSERVICE_SCOPE_VISIT sv
    JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = sv.caregiver_id
),
scoped AS (
    SELECT ssn FROM event_ssn
    WHERE %(whole_window)s OR ssn IN (SELECT ssn FROM scope_visit_ssn)
    UNION
    SELECT ssn FROM changed_event_ssn
    WHERE NOT %(whole_window)s
)
SELECT ssn
FROM scoped
WHERE ssn NOT IN (SELECT ssn FROM VC_EXCLUDED_SSN)
