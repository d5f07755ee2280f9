-- Payers, left-joined when active and not demo.
CREATE TABLE IF NOT EXISTS DIMPAYER (
    "Payer Id" VARCHAR,
    "Payer Name" VARCHAR,
    "Payer State" VARCHAR,
    "Is Active" BOOLEAN,
    "Is Demo" BOOLEAN
)
