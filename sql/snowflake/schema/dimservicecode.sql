-- Service codes, left-joined.
CREATE TABLE IF NOT EXISTS DIMSERVICECODE (
    "Service Code Id" VARCHAR,
    "Application Service Code Id" NUMBER(38,0),
    "Service Code" VARCHAR
)
