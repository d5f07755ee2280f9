-- The scoped visits' ids as PostgreSQL stores them (lower-case uuid text; a visit whose id is no uuid
-- has no stored pair), streamed for the InService stale cleanup (D12 with D14).
SELECT DISTINCT LOWER(visit_id) AS visit_id
FROM VC_INSERVICE_SCOPE_VISIT
WHERE REGEXP_LIKE(visit_id, %(uuid_pattern)s)
