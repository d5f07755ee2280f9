-- Payer x provider pairs for payer_provider_reminders: the distinct rows of
-- DIMPROVIDER x DIMPAYERPROVIDER x DIMPAYER (inner joins, no active/demo filter, as in legacy).
-- Everything is returned as text; PostgreSQL validates the ids (D23), picks one row per pair (D8) and
-- upserts (sql/postgres/staging/upsert_payer_provider_reminders.sql).
SELECT DISTINCT
    dpp."Payer Id" AS payer_id,
    CAST(dpp."Application Payer Id" AS VARCHAR) AS app_payer_id,
    dpa."Payer Name" AS contract,
    dpp."Provider Id" AS provider_id,
    CAST(dpp."Application Provider Id" AS VARCHAR) AS app_provider_id,
    dp."Provider Name" AS provider_name
FROM DIMPROVIDER dp
JOIN DIMPAYERPROVIDER dpp ON dpp."Provider Id" = dp."Provider Id"
JOIN DIMPAYER dpa ON dpa."Payer Id" = dpp."Payer Id"
