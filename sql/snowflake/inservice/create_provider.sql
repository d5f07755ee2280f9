-- Session table of the active, non-demo providers (the legacy INNER join of both InService sides), one
-- row per "Provider Id" (the rule detection uses).
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_PROVIDER AS
-- @include snowflake/common/provider_rows.sql
