-- Delta mode (D14): the synthetic VisitIDs, md5('I' || "Application Caregiver Inservice Id") as 32
-- lower-case hex digits (as the legacy computes them), of every event updated at or after the cutoff,
-- whatever its date or caregiver. Their stored pairs are in scope even when the event moved to another
-- caregiver (another SSN). Empty in window mode, where every pair of the window is in scope.
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_SCOPE_EVENT AS
SELECT DISTINCT MD5(CONCAT('I', CAST(e."Application Caregiver Inservice Id" AS VARCHAR))) AS visit_id
FROM FACTCAREGIVERINSERVICE e
WHERE NOT %(whole_window)s
  AND e."Application Caregiver Inservice Id" IS NOT NULL
  AND e."Updated Date" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
