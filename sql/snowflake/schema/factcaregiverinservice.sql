-- InService (training) events. Their synthetic VisitID is
-- md5('I' || "Application Caregiver Inservice Id"); ("Application Caregiver Inservice Id", "Environment")
-- is the natural key.
CREATE TABLE IF NOT EXISTS FACTCAREGIVERINSERVICE (
    "Application Caregiver Inservice Id" NUMBER(38,0),
    "Caregiver Id" VARCHAR,
    "Provider Id" VARCHAR,
    "Office Id" VARCHAR,
    "Inservice start date" TIMESTAMP_TZ,
    "Inservice end date" TIMESTAMP_TZ,
    "Updated Date" TIMESTAMP_TZ,
    "Environment" VARCHAR(100)
)
