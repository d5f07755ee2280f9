-- Agency branches, left-joined when active.
CREATE TABLE IF NOT EXISTS DIMOFFICE (
    "Office Id" VARCHAR,
    "Application Office Id" NUMBER(38,0),
    "Office Name" VARCHAR,
    "Is Active" BOOLEAN
)
