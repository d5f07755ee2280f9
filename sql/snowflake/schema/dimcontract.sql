-- Contracts (data-model.md section 2.4), left-joined when active; the name is the fallback "Contract".
CREATE TABLE IF NOT EXISTS DIMCONTRACT (
    "Contract Id" VARCHAR,
    "Contract Name" VARCHAR,
    "Is Active" BOOLEAN
)
