-- Delta mode (D14): the synthetic VisitIDs (md5('I' || "Application Caregiver Inservice Id"), 32
-- lower-case hex digits) of every event still in the source that may have stored pairs in the window,
-- streamed to PostgreSQL, where a stored event id missing from them is a hard-deleted event whose pairs
-- the stale cleanup must re-decide (store/inservice.py, add_deleted_events.sql). Generous on purpose: an
-- event counted present here is merely left alone, as before; one missing by mistake would lose its
-- pairs. So only events that started more than a day before the window are left out (their pairs are
-- outside it), and events without a start date are kept.
SELECT DISTINCT MD5(CONCAT('I', CAST(e."Application Caregiver Inservice Id" AS VARCHAR))) AS visit_id
FROM FACTCAREGIVERINSERVICE e
WHERE e."Application Caregiver Inservice Id" IS NOT NULL
  AND (
      e."Inservice start date" IS NULL
      OR e."Inservice start date" >= CAST(%(visit_date_floor)s AS TIMESTAMP_TZ)
  )
