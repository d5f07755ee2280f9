-- Patient records, joined twice: on the visit's "Provider Patient Id" (P_) and
-- on its "Payer Patient Id" (PA_).
CREATE TABLE IF NOT EXISTS DIMPATIENT (
    "Patient Id" VARCHAR,
    "Admission Id" VARCHAR,
    "Patient Name" VARCHAR,
    "Patient Firstname" VARCHAR,
    "Patient Lastname" VARCHAR,
    "Medicaid Number" VARCHAR,
    "Status" VARCHAR
)
