-- Payer-agency links, read by the staging step to sync payer_provider_reminders.
-- All four columns are VARCHAR(50) in the source, the application ids included.
CREATE TABLE IF NOT EXISTS DIMPAYERPROVIDER (
    "Payer Id" VARCHAR(50),
    "Application Payer Id" VARCHAR(50),
    "Provider Id" VARCHAR(50),
    "Application Provider Id" VARCHAR(50)
)
