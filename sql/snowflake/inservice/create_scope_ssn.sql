-- InService scope (D14) as caregiver SSNs (trimmed, not blank, not excluded). Every InService pair of
-- a scoped SSN is re-evaluated, so an event that appears, moves or vanishes at a visit's own provider
-- (the same-provider exclusion, other-actions.md C.4 step 1) also re-decides that visit's other pairs.
--   * window mode (whole_window TRUE): every SSN with an InService event starting inside the window;
--   * delta mode: SSNs with an event updated at or after the cutoff (any start date: an event that
--     moved out of the window still has pairs to resolve), plus SSNs with a visit updated at or after
--     the cutoff inside the window that also have an event starting inside the window (without one
--     they can have no InService pair).
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
changed_visit_ssn AS (
    SELECT DISTINCT cg.ssn
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = cr."Caregiver Id"
    WHERE cr."Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
      AND CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE)
          BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
),
scoped AS (
    SELECT ssn FROM event_ssn
    WHERE %(whole_window)s OR ssn IN (SELECT ssn FROM changed_visit_ssn)
    UNION
    SELECT ssn FROM changed_event_ssn
    WHERE NOT %(whole_window)s
)
SELECT ssn
FROM scoped
WHERE ssn NOT IN (SELECT ssn FROM VC_EXCLUDED_SSN)
