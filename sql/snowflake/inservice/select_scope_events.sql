-- The changed events' synthetic VisitIDs, streamed to PostgreSQL for the InService stale cleanup.
SELECT visit_id FROM VC_INSERVICE_SCOPE_EVENT
