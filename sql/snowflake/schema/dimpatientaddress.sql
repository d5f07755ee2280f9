-- Patient addresses. Per "Patient Id" the newest row (by
-- "Application Created UTC Timestamp") with "Primary Address" = TRUE and "Address Type" containing 'GPS'
-- is used: its state feeds the cross-state filter and, on the P_ side, its coordinates are the GPS fallback.
CREATE TABLE IF NOT EXISTS DIMPATIENTADDRESS (
    "Patient Address Id" VARCHAR,
    "Application Patient Address Id" NUMBER(38,0),
    "Address Line 1" VARCHAR,
    "Address Line 2" VARCHAR,
    "City" VARCHAR,
    "Address State" VARCHAR,
    "Zip Code" VARCHAR,
    "County" VARCHAR,
    "Patient Id" VARCHAR,
    "Application Patient Id" NUMBER(38,0),
    "Longitude" DOUBLE,
    "Latitude" DOUBLE,
    "Primary Address" BOOLEAN,
    "Address Type" VARCHAR,
    "Application Created UTC Timestamp" TIMESTAMP_TZ
)
