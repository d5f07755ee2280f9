-- Payers (data-model.md section 2.4), left-joined when active and not demo.
CREATE TABLE IF NOT EXISTS DIMPAYER (
    "Payer Id" VARCHAR,
    "Payer Name" VARCHAR,
    "Payer State" VARCHAR,
    "Is Active" BOOLEAN,
    "Is Demo" BOOLEAN
)
