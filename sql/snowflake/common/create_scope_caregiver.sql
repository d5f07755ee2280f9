-- VC_SCOPE_CAREGIVER: the caregivers (common/caregiver_rows.sql, one row per "Caregiver Id") of the
-- SSNs of the scope's groups (VC_DELTA_GROUP). Read by create_scope_row.sql to find the scope's visit
-- rows and by the pair query for the caregiver columns, so the dimension is resolved once per session.
CREATE OR REPLACE TEMPORARY TABLE VC_SCOPE_CAREGIVER AS
WITH caregiver AS (
    -- @include snowflake/common/caregiver_rows.sql
)
SELECT
    cg.caregiver_id,
    cg.app_caregiver_id,
    cg.ssn,
    cg.caregiver_code,
    cg.caregiver_fullname,
    cg.caregiver_firstname,
    cg.caregiver_lastname,
    cg.caregiver_status
FROM caregiver cg
WHERE cg.ssn IN (SELECT ssn FROM VC_DELTA_GROUP)
