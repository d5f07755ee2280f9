-- Delta mode (D14): the source visits whose InService pairs the run re-evaluates, and whose stored pairs
-- are in the stale-cleanup scope (with the changed events, create_scope_event.sql):
--   * every visit updated at or after the cutoff (its times, provider, caregiver or missed flag may have
--     changed);
--   * every visit of the caregiver record of an event updated at or after the cutoff: an event of a
--     visit's own caregiver record at its own provider makes the visit ineligible
--     (create_visits.sql), so such a change can end or free the visit's other pairs. The record's
--     visits at any provider, not only at the event's present one: an event that moved to another
--     provider no longer blocks the record's visits at the one it left, and no source row says which
--     that was (a caregiver record belongs to one agency, so in practice these are the same visits).
-- Nothing else about a visit can change its InService pairs (they depend on the visit, the event and
-- the events of its record at its provider), so a caregiver's other visits are left alone. What no
-- delta shows stays for window mode: an event that moved to another caregiver record (or was deleted
-- from the source) no longer blocks the old record's visits. Empty in window mode, where every pair of
-- the window is in scope. Found with cheap predicates: the raw "Visit Date" range around the window
-- (the same bound range as detection's), the raw update time, and an equi-join on the raw "Caregiver
-- Id". visit_id is the source text as it is (create_scope_row.sql matches it without an expression);
-- caregiver_id says whose visit it is.
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_SCOPE_VISIT AS
WITH changed_event_caregiver AS (
    SELECT DISTINCT e."Caregiver Id" AS caregiver_id
    FROM FACTCAREGIVERINSERVICE e
    WHERE NOT %(whole_window)s
      AND e."Updated Date" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
),
changed_visit AS (
    SELECT cr."Visit Id" AS visit_id, cr."Caregiver Id" AS caregiver_id
    FROM FACTVISITCALLPERFORMANCE_CR cr
    WHERE NOT %(whole_window)s
      AND cr."Visit Date" >= CAST(%(visit_date_floor)s AS TIMESTAMP_TZ)
      AND cr."Visit Date" < CAST(%(visit_date_ceiling)s AS TIMESTAMP_TZ)
      AND cr."Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
),
own_record_visit AS (
    SELECT cr."Visit Id" AS visit_id, cr."Caregiver Id" AS caregiver_id
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN changed_event_caregiver ce ON ce.caregiver_id = cr."Caregiver Id"
    WHERE cr."Visit Date" >= CAST(%(visit_date_floor)s AS TIMESTAMP_TZ)
      AND cr."Visit Date" < CAST(%(visit_date_ceiling)s AS TIMESTAMP_TZ)
)
SELECT visit_id, caregiver_id FROM changed_visit
UNION
SELECT visit_id, caregiver_id FROM own_record_visit
