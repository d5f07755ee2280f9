-- Caregiver records: one per person and agency; TRIM("SSN") is the
-- cross-agency identity of a person.
CREATE TABLE IF NOT EXISTS DIMCAREGIVER (
    "Caregiver Id" VARCHAR,
    "Application Caregiver Id" NUMBER(38,0),
    "SSN" VARCHAR,
    "Status" VARCHAR,
    "Caregiver Code" VARCHAR,
    "Caregiver Fullname" VARCHAR,
    "Caregiver Firstname" VARCHAR,
    "Caregiver Lastname" VARCHAR
)
