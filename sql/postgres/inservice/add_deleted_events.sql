-- Delta mode (D14): the events that have open InService pairs in the window but are gone from the
-- source (hard-deleted; _inservice_present_event holds the source's ids, select_present_events.sql)
-- join the run's scope of sides, so that resolve_stale_pairs.sql re-decides their pairs: the run
-- produced none, so the open ones become 'R', as a window pass would leave them. The event is the side
-- whose Inservice* columns are set: "VisitID" of the event -> visit direction, "ConVisitID" of the
-- other; both legs go through idx_cvm_inservice_visitdate_ssn (its predicate is repeated as {inservice}).
-- Ids already in the run's scope are not added twice. Returns one row per event added.
WITH stored AS (
    SELECT c."VisitID" AS event_id
    FROM conflictvisitmaps c
    WHERE {inservice}
      AND c."InserviceStartDate" IS NOT NULL
      AND c."StatusFlag" IN ('N', 'U')
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
    UNION
    SELECT c."ConVisitID"
    FROM conflictvisitmaps c
    WHERE {inservice}
      AND c."ConInserviceStartDate" IS NOT NULL
      AND c."StatusFlag" IN ('N', 'U')
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
)
INSERT INTO run_inservice_scope_event (run_id, "VisitID")
SELECT %(run_id)s, s.event_id
FROM stored s
WHERE NOT EXISTS (SELECT 1 FROM _inservice_present_event p WHERE p.visit_id = s.event_id)
  AND NOT EXISTS (
      SELECT 1 FROM run_inservice_scope_event r WHERE r.run_id = %(run_id)s AND r."VisitID" = s.event_id
  )
RETURNING "VisitID"
