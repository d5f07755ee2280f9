-- The chunk's delta groups built by create_delta_group.sql: one row per (visit date, SSN).
SELECT visit_date, ssn, chunk
FROM VC_DELTA_GROUP
