-- Contracts, left-joined when active; the name is the fallback "Contract".
CREATE TABLE IF NOT EXISTS DIMCONTRACT (
    "Contract Id" VARCHAR,
    "Contract Name" VARCHAR,
    "Is Active" BOOLEAN
)
