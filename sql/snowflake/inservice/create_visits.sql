-- VC_INSERVICE_VISIT: the eligible visits of the scoped SSNs (other-actions.md C.4 step 1), one row
-- per visit id (D8: the latest update first), with their dimension rows, in the columns of
-- VC_INSERVICE_EVENT. Run after create_candidates.sql: only visits that overlap an event of the same
-- SSN at another provider can pair, so only those are enriched. Eligible: a usable candidate (inside
-- the window, not missed, actual start <= end, uuid ids, an active, non-demo, not excluded provider, a
-- caregiver with a usable SSN) that NO InService event of the same caregiver at the visit's own
-- provider overlaps (any event of FACTCAREGIVERINSERVICE, closed interval; such a visit is dropped for
-- every provider's events, C.2).
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_VISIT AS
WITH scope_visit AS (
    SELECT tv.*
    FROM VC_INSERVICE_CANDIDATE tv
    WHERE tv.skip_reason IS NULL
      -- No event of the same caregiver at its own provider overlaps it.
      AND NOT EXISTS (
          SELECT 1 FROM FACTCAREGIVERINSERVICE own
          WHERE own."Caregiver Id" = tv."Caregiver Id"
            AND LOWER(own."Provider Id") = LOWER(tv."Provider Id")
            AND own."Inservice start date" IS NOT NULL
            AND own."Inservice end date" IS NOT NULL
            AND tv.visit_start <= CAST(CONVERT_TIMEZONE(%(time_zone)s, own."Inservice end date") AS TIMESTAMP_NTZ)
            AND tv.visit_end >= CAST(CONVERT_TIMEZONE(%(time_zone)s, own."Inservice start date") AS TIMESTAMP_NTZ)
      )
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY LOWER(tv."Visit Id")
        ORDER BY tv."Visit Updated Timestamp" DESC NULLS LAST, tv."Application Visit Id" NULLS LAST,
            tv."Provider Id", tv."Visit Start Time", tv."Visit End Time"
    ) = 1
),
scope_patient_id AS (
    SELECT "Provider Patient Id" AS patient_id FROM scope_visit
    UNION
    SELECT "Payer Patient Id" AS patient_id FROM scope_visit
),
office AS (
    SELECT "Office Id" AS office_id, "Office Name" AS office_name
    FROM DIMOFFICE
    WHERE "Is Active" = TRUE AND "Office Id" IN (SELECT "Office Id" FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Office Id" ORDER BY "Application Office Id" NULLS LAST, "Office Name" NULLS LAST
    ) = 1
),
patient AS (
    SELECT
        "Patient Id" AS patient_id,
        "Admission Id" AS admission_id,
        "Patient Name" AS patient_name,
        "Patient Firstname" AS patient_firstname,
        "Patient Lastname" AS patient_lastname,
        "Medicaid Number" AS medicaid_number,
        "Status" AS patient_status
    FROM DIMPATIENT
    WHERE "Patient Id" IN (SELECT patient_id FROM scope_patient_id)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Patient Id"
        ORDER BY "Admission Id" NULLS LAST, "Patient Name" NULLS LAST, "Medicaid Number" NULLS LAST,
            "Status" NULLS LAST
    ) = 1
),
patient_address AS (
    -- The patient's latest primary GPS address (legacy DPAD_*); D8 breaks ties by the smallest id.
    SELECT
        "Patient Id" AS patient_id,
        "Patient Address Id" AS patient_address_id,
        "Application Patient Address Id" AS app_patient_address_id,
        "Address Line 1" AS address_line_1,
        "Address Line 2" AS address_line_2,
        "City" AS city,
        "Address State" AS address_state,
        "Zip Code" AS zip_code,
        "County" AS county,
        CAST("Longitude" AS DOUBLE) AS longitude,
        CAST("Latitude" AS DOUBLE) AS latitude
    FROM DIMPATIENTADDRESS
    WHERE "Primary Address" = TRUE
      AND POSITION('GPS' IN "Address Type") > 0
      AND "Patient Id" IN (SELECT patient_id FROM scope_patient_id)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Patient Id"
        ORDER BY "Application Created UTC Timestamp" DESC NULLS LAST,
            "Application Patient Address Id" NULLS LAST, "Patient Address Id" NULLS LAST
    ) = 1
),
payer AS (
    SELECT "Payer Id" AS payer_id, "Payer Name" AS payer_name, "Payer State" AS payer_state
    FROM DIMPAYER
    WHERE "Is Active" = TRUE AND "Is Demo" = FALSE AND "Payer Id" IN (SELECT "Payer Id" FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Payer Id" ORDER BY "Payer Name" NULLS LAST, "Payer State" NULLS LAST
    ) = 1
),
contract AS (
    SELECT "Contract Id" AS contract_id, "Contract Name" AS contract_name
    FROM DIMCONTRACT
    WHERE "Is Active" = TRUE AND "Contract Id" IN (SELECT "Contract Id" FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY "Contract Id" ORDER BY "Contract Name" NULLS LAST) = 1
),
service_code AS (
    SELECT
        "Service Code Id" AS service_code_id,
        "Application Service Code Id" AS app_service_code_id,
        "Service Code" AS service_code
    FROM DIMSERVICECODE
    WHERE "Service Code Id" IN (SELECT "Service Code Id" FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Service Code Id"
        ORDER BY "Application Service Code Id" NULLS LAST, "Service Code" NULLS LAST
    ) = 1
),
app_user AS (
    SELECT "User Id" AS user_id, "User Fullname" AS user_fullname
    FROM DIMUSER
    WHERE "User Id" IN (SELECT "Visit Updated User Id" FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY "User Id" ORDER BY "User Fullname" NULLS LAST) = 1
),
located_visit AS (
    -- D6: GPS text with '"' removed, split on ','; element 0 = latitude, element 1 = longitude.
    SELECT
        sv.*,
        TRY_CAST(TRIM(SPLIT_PART(REPLACE(sv."Call Out GPS Coordinates", '"', ''), ',', 1)) AS DOUBLE) AS out_lat,
        TRY_CAST(TRIM(SPLIT_PART(REPLACE(sv."Call Out GPS Coordinates", '"', ''), ',', 2)) AS DOUBLE) AS out_lon,
        TRY_CAST(TRIM(SPLIT_PART(REPLACE(sv."Call In GPS Coordinates", '"', ''), ',', 1)) AS DOUBLE) AS in_lat,
        TRY_CAST(TRIM(SPLIT_PART(REPLACE(sv."Call In GPS Coordinates", '"', ''), ',', 2)) AS DOUBLE) AS in_lon
    FROM scope_visit sv
)
SELECT
    lv.ssn AS "SSN",
    LOWER(lv."Provider Id") AS "ProviderID",
    TRY_CAST(CAST(lv."Application Provider Id" AS VARCHAR) AS BIGINT) AS "AppProviderID",
    pr.provider_name AS "ProviderName",
    LOWER(lv."Visit Id") AS "VisitID",
    TRY_CAST(CAST(lv."Application Visit Id" AS VARCHAR) AS BIGINT) AS "AppVisitID",
    CAST(CONVERT_TIMEZONE(%(time_zone)s, lv."Visit Date") AS DATE) AS "VisitDate",
    CAST(CONVERT_TIMEZONE(%(time_zone)s, lv."Scheduled Start Time") AS TIMESTAMP_NTZ) AS "SchStartTime",
    CAST(CONVERT_TIMEZONE(%(time_zone)s, lv."Scheduled End Time") AS TIMESTAMP_NTZ) AS "SchEndTime",
    lv.visit_start AS "VisitStartTime",
    lv.visit_end AS "VisitEndTime",
    CAST(CONVERT_TIMEZONE(%(time_zone)s, lv."Call In Time") AS TIMESTAMP_NTZ) AS "EVVStartTime",
    CAST(CONVERT_TIMEZONE(%(time_zone)s, lv."Call Out Time") AS TIMESTAMP_NTZ) AS "EVVEndTime",
    IFF(REGEXP_LIKE(lv."Caregiver Id", '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(lv."Caregiver Id"), NULL) AS "CaregiverID",
    TRY_CAST(CAST(lv."Application Caregiver Id" AS VARCHAR) AS BIGINT) AS "AppCaregiverID",
    cg.caregiver_code AS "AideCode",
    cg.caregiver_fullname AS "AideName",
    cg.caregiver_firstname AS "AideFName",
    cg.caregiver_lastname AS "AideLName",
    lv.ssn AS "AideSSN",
    cg.caregiver_status AS "AideStatus",
    IFF(REGEXP_LIKE(lv."Office Id", '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(lv."Office Id"), NULL) AS "OfficeID",
    TRY_CAST(CAST(lv."Application Office Id" AS VARCHAR) AS BIGINT) AS "AppOfficeID",
    o.office_name AS "Office",
    IFF(REGEXP_LIKE(lv."Patient Id", '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(lv."Patient Id"), NULL) AS "PatientID",
    TRY_CAST(CAST(lv."Application Patient Id" AS VARCHAR) AS BIGINT) AS "AppPatientID",
    -- D6 priority: call-out GPS, then call-in GPS, then the provider-side patient's address; a source
    -- counts only when both numbers parse and lie in [-90, 90] / [-180, 180].
    CASE
        WHEN lv.out_lat BETWEEN -90 AND 90 AND lv.out_lon BETWEEN -180 AND 180 THEN lv.out_lon
        WHEN lv.in_lat BETWEEN -90 AND 90 AND lv.in_lon BETWEEN -180 AND 180 THEN lv.in_lon
        WHEN ap.latitude BETWEEN -90 AND 90 AND ap.longitude BETWEEN -180 AND 180 THEN ap.longitude
    END AS "PLongitude",
    CASE
        WHEN lv.out_lat BETWEEN -90 AND 90 AND lv.out_lon BETWEEN -180 AND 180 THEN lv.out_lat
        WHEN lv.in_lat BETWEEN -90 AND 90 AND lv.in_lon BETWEEN -180 AND 180 THEN lv.in_lat
        WHEN ap.latitude BETWEEN -90 AND 90 AND ap.longitude BETWEEN -180 AND 180 THEN ap.latitude
    END AS "PLatitude",
    IFF(REGEXP_LIKE(lv."Payer Id", '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(lv."Payer Id"), NULL) AS "PayerID",
    TRY_CAST(CAST(lv."Application Payer Id" AS VARCHAR) AS BIGINT) AS "AppPayerID",
    COALESCE(py.payer_name, ct.contract_name) AS "Contract",
    py.payer_state AS "PayerState",
    CAST(CONVERT_TIMEZONE(%(time_zone)s, lv."Invoice Date") AS TIMESTAMP_NTZ) AS "BilledDate",
    CAST(lv."Billed Hours" AS DOUBLE) AS "BilledHours",
    lv."Billed" AS "Billed",
    CAST(lv."Billed Rate" AS DOUBLE) AS "BilledRate",
    CAST(lv."Total Billed Amount" AS DOUBLE) AS "TotalBilledAmount",
    CAST(lv."Bill Rate Non-Billed" AS DOUBLE) AS "BillRateNonBilled",
    CAST(CASE WHEN lv."Billed" = 'yes' THEN lv."Billed Rate" ELSE lv."Bill Rate Non-Billed" END AS DOUBLE) AS "BillRateBoth",
    IFF(REGEXP_LIKE(sc.service_code_id, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(sc.service_code_id), NULL) AS "ServiceCodeID",
    TRY_CAST(CAST(sc.app_service_code_id AS VARCHAR) AS BIGINT) AS "AppServiceCodeID",
    lv."Bill Type" AS "RateType",
    sc.service_code AS "ServiceCode",
    CAST(lv."Is Missed" AS BOOLEAN) AS "IsMissed",
    lv."Missed Visit Reason" AS "MissedVisitReason",
    lv."Call Out Device Type" AS "EVVType",
    pr.phone_number AS "AgencyPhone",
    u.user_fullname AS "LastUpdatedBy",
    CAST(CONVERT_TIMEZONE(%(time_zone)s, lv."Visit Updated Timestamp") AS TIMESTAMP_NTZ) AS "LastUpdatedDate",
    CASE
        WHEN CAST(lv."Application Payer Id" AS VARCHAR) = '0' AND CAST(lv."Application Contract Id" AS VARCHAR) <> '0' THEN 'Internal'
        WHEN CAST(lv."Application Payer Id" AS VARCHAR) <> '0' AND CAST(lv."Application Contract Id" AS VARCHAR) <> '0' THEN 'UPR'
        WHEN CAST(lv."Application Payer Id" AS VARCHAR) <> '0' AND CAST(lv."Application Contract Id" AS VARCHAR) = '0' THEN 'Payer'
    END AS "ContractType",
    pr.federal_tax_number AS "FederalTaxNumber",
    IFF(REGEXP_LIKE(lv."Provider Patient Id", '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(lv."Provider Patient Id"), NULL) AS "P_PatientID",
    TRY_CAST(CAST(lv."Application Provider Patient Id" AS VARCHAR) AS BIGINT) AS "P_AppPatientID",
    pp.admission_id AS "P_PAdmissionID",
    pp.patient_name AS "P_PName",
    pp.patient_firstname AS "P_PFName",
    pp.patient_lastname AS "P_PLName",
    pp.medicaid_number AS "P_PMedicaidNumber",
    pp.patient_status AS "P_PStatus",
    IFF(REGEXP_LIKE(ap.patient_address_id, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(ap.patient_address_id), NULL) AS "P_PAddressID",
    TRY_CAST(CAST(ap.app_patient_address_id AS VARCHAR) AS BIGINT) AS "P_PAppAddressID",
    ap.address_line_1 AS "P_PAddressL1",
    ap.address_line_2 AS "P_PAddressL2",
    ap.city AS "P_PCity",
    ap.address_state AS "P_PAddressState",
    ap.zip_code AS "P_PZipCode",
    ap.county AS "P_PCounty",
    IFF(REGEXP_LIKE(lv."Payer Patient Id", '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(lv."Payer Patient Id"), NULL) AS "PA_PatientID",
    TRY_CAST(CAST(lv."Application Payer Patient Id" AS VARCHAR) AS BIGINT) AS "PA_AppPatientID",
    pa.admission_id AS "PA_PAdmissionID",
    pa.patient_name AS "PA_PName",
    pa.patient_firstname AS "PA_PFName",
    pa.patient_lastname AS "PA_PLName",
    pa.medicaid_number AS "PA_PMedicaidNumber",
    pa.patient_status AS "PA_PStatus",
    IFF(REGEXP_LIKE(apa.patient_address_id, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'), LOWER(apa.patient_address_id), NULL) AS "PA_PAddressID",
    TRY_CAST(CAST(apa.app_patient_address_id AS VARCHAR) AS BIGINT) AS "PA_PAppAddressID",
    apa.address_line_1 AS "PA_PAddressL1",
    apa.address_line_2 AS "PA_PAddressL2",
    apa.city AS "PA_PCity",
    apa.address_state AS "PA_PAddressState",
    apa.zip_code AS "PA_PZipCode",
    apa.county AS "PA_PCounty",
    CAST(NULL AS TIMESTAMP_NTZ) AS "InserviceStartDate",
    CAST(NULL AS TIMESTAMP_NTZ) AS "InserviceEndDate"
FROM located_visit lv
JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = lv."Caregiver Id"
JOIN VC_INSERVICE_PROVIDER pr ON pr.provider_id = lv."Provider Id"
LEFT JOIN office o ON o.office_id = lv."Office Id"
LEFT JOIN patient pp ON pp.patient_id = lv."Provider Patient Id"
LEFT JOIN patient_address ap ON ap.patient_id = pp.patient_id
LEFT JOIN patient pa ON pa.patient_id = lv."Payer Patient Id"
LEFT JOIN patient_address apa ON apa.patient_id = pa.patient_id
LEFT JOIN payer py ON py.payer_id = lv."Payer Id"
LEFT JOIN contract ct ON ct.contract_id = lv."Contract Id"
LEFT JOIN service_code sc ON sc.service_code_id = lv."Service Code Id"
LEFT JOIN app_user u ON u.user_id = lv."Visit Updated User Id"
