-- Session table of excluded provider ids (PostgreSQL excluded_agency."ProviderID", lower-case uuid
-- text), filled by insert_excluded_provider.sql and compared with LOWER(CR."Provider Id").
CREATE OR REPLACE TEMPORARY TABLE VC_EXCLUDED_PROVIDER (provider_id VARCHAR)
