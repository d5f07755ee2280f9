-- Agencies. Detection inner-joins the active, non-demo rows; the cross-state
-- filter falls back to "Address State" when a visit's patient states are blank.
CREATE TABLE IF NOT EXISTS DIMPROVIDER (
    "Provider Id" VARCHAR,
    "Application Provider Id" NUMBER(38,0),
    "Provider Name" VARCHAR,
    "Phone Number 1" VARCHAR,
    "Federal Tax Number" VARCHAR,
    "Address State" VARCHAR,
    "Is Active" BOOLEAN,
    "Is Demo" BOOLEAN
)
