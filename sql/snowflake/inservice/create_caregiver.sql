-- Session table of the caregivers with a usable SSN, one row per "Caregiver Id" (the rule detection uses).
-- Every InService statement of the session reads it, so all of them resolve a caregiver to the same
-- person.
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_CAREGIVER AS
-- @include snowflake/common/caregiver_rows.sql
