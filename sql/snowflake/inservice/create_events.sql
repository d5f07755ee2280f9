-- VC_INSERVICE_EVENT: the InService events of the scoped SSNs, one row
-- per synthetic id (D8: the most recently updated source row, then the smallest caregiver/provider
-- id). An event is usable when it has an application id, a start and an end with end >= start, a uuid
-- provider id of an active, non-demo, not excluded provider (VC_INSERVICE_PROVIDER), a caregiver with
-- a usable SSN (VC_INSERVICE_CAREGIVER), and starts inside the window. Unusable events are counted by
-- count_skipped_rows.sql (D23).
-- VisitID = md5('I' || application id) as 32 lower-case hex digits (PostgreSQL stores it as a uuid);
-- AppVisitID = the application id; VisitDate = the start's business date; the office comes from an
-- active DIMOFFICE row; every visit-only attribute is NULL. The columns are those of
-- VC_INSERVICE_VISIT (create_visits.sql), in the same order and types: the pair query reads both
-- tables as one list of sides (named like the un-prefixed conflictvisitmaps columns).
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_EVENT AS
WITH office AS (
    SELECT "Office Id" AS office_id, "Application Office Id" AS app_office_id, "Office Name" AS office_name
    FROM DIMOFFICE
    WHERE "Is Active" = TRUE
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Office Id" ORDER BY "Application Office Id" NULLS LAST, "Office Name" NULLS LAST
    ) = 1
),
event AS (
    SELECT
        MD5(CONCAT('I', CAST(e."Application Caregiver Inservice Id" AS VARCHAR))) AS visit_id,
        e."Application Caregiver Inservice Id" AS app_event_id,
        e."Office Id" AS office_id,
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(e."Inservice start date" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS start_at,
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(e."Inservice end date" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS end_at,
        cg.caregiver_id,
        cg.app_caregiver_id,
        cg.ssn,
        cg.caregiver_code,
        cg.caregiver_fullname,
        cg.caregiver_firstname,
        cg.caregiver_lastname,
        cg.caregiver_status,
        p.provider_id,
        p.app_provider_id,
        p.provider_name,
        p.phone_number,
        p.federal_tax_number
    FROM FACTCAREGIVERINSERVICE e
    JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = e."Caregiver Id"
    JOIN VC_INSERVICE_SCOPE_SSN s ON s.ssn = cg.ssn
    JOIN VC_INSERVICE_PROVIDER p ON p.provider_id = e."Provider Id"
    WHERE e."Application Caregiver Inservice Id" IS NOT NULL
      AND e."Inservice start date" IS NOT NULL
      AND e."Inservice end date" IS NOT NULL
      AND e."Inservice end date" >= e."Inservice start date"
      AND CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(e."Inservice start date" AS TIMESTAMP_TZ)) AS DATE)
          BETWEEN CAST(%(window_start)s AS DATE) AND CAST(%(window_end)s AS DATE)
      AND REGEXP_LIKE(e."Provider Id", %(uuid_pattern)s)
      AND LOWER(e."Provider Id") NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY e."Application Caregiver Inservice Id"
        ORDER BY e."Updated Date" DESC NULLS LAST, e."Environment" NULLS LAST, e."Caregiver Id",
            e."Provider Id", e."Inservice start date", e."Inservice end date"
    ) = 1
)
SELECT
    ev.ssn AS "SSN",
    LOWER(ev.provider_id) AS "ProviderID",
    IFF(REGEXP_LIKE(TRIM(CAST(ev.app_provider_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(ev.app_provider_id AS VARCHAR)) AS BIGINT), NULL) AS "AppProviderID",
    ev.provider_name AS "ProviderName",
    ev.visit_id AS "VisitID",
    IFF(REGEXP_LIKE(TRIM(CAST(ev.app_event_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(ev.app_event_id AS VARCHAR)) AS BIGINT), NULL) AS "AppVisitID",
    CAST(ev.start_at AS DATE) AS "VisitDate",
    CAST(NULL AS TIMESTAMP_NTZ) AS "SchStartTime",
    CAST(NULL AS TIMESTAMP_NTZ) AS "SchEndTime",
    CAST(NULL AS TIMESTAMP_NTZ) AS "VisitStartTime",
    CAST(NULL AS TIMESTAMP_NTZ) AS "VisitEndTime",
    CAST(NULL AS TIMESTAMP_NTZ) AS "EVVStartTime",
    CAST(NULL AS TIMESTAMP_NTZ) AS "EVVEndTime",
    IFF(REGEXP_LIKE(ev.caregiver_id, %(uuid_pattern)s), LOWER(ev.caregiver_id), NULL) AS "CaregiverID",
    IFF(REGEXP_LIKE(TRIM(CAST(ev.app_caregiver_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(ev.app_caregiver_id AS VARCHAR)) AS BIGINT), NULL) AS "AppCaregiverID",
    ev.caregiver_code AS "AideCode",
    ev.caregiver_fullname AS "AideName",
    ev.caregiver_firstname AS "AideFName",
    ev.caregiver_lastname AS "AideLName",
    ev.ssn AS "AideSSN",
    ev.caregiver_status AS "AideStatus",
    IFF(REGEXP_LIKE(o.office_id, %(uuid_pattern)s), LOWER(o.office_id), NULL) AS "OfficeID",
    IFF(REGEXP_LIKE(TRIM(CAST(o.app_office_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(o.app_office_id AS VARCHAR)) AS BIGINT), NULL) AS "AppOfficeID",
    o.office_name AS "Office",
    CAST(NULL AS VARCHAR) AS "PatientID",
    CAST(NULL AS BIGINT) AS "AppPatientID",
    CAST(NULL AS DOUBLE) AS "PLongitude",
    CAST(NULL AS DOUBLE) AS "PLatitude",
    CAST(NULL AS VARCHAR) AS "PayerID",
    CAST(NULL AS BIGINT) AS "AppPayerID",
    CAST(NULL AS VARCHAR) AS "Contract",
    CAST(NULL AS VARCHAR) AS "PayerState",
    CAST(NULL AS TIMESTAMP_NTZ) AS "BilledDate",
    CAST(NULL AS DOUBLE) AS "BilledHours",
    CAST(NULL AS VARCHAR) AS "Billed",
    CAST(NULL AS DOUBLE) AS "BilledRate",
    CAST(NULL AS DOUBLE) AS "TotalBilledAmount",
    CAST(NULL AS DOUBLE) AS "BillRateNonBilled",
    CAST(NULL AS DOUBLE) AS "BillRateBoth",
    CAST(NULL AS VARCHAR) AS "ServiceCodeID",
    CAST(NULL AS BIGINT) AS "AppServiceCodeID",
    CAST(NULL AS VARCHAR) AS "RateType",
    CAST(NULL AS VARCHAR) AS "ServiceCode",
    CAST(NULL AS BOOLEAN) AS "IsMissed",
    CAST(NULL AS VARCHAR) AS "MissedVisitReason",
    CAST(NULL AS VARCHAR) AS "EVVType",
    ev.phone_number AS "AgencyPhone",
    CAST(NULL AS VARCHAR) AS "LastUpdatedBy",
    CAST(NULL AS TIMESTAMP_NTZ) AS "LastUpdatedDate",
    CAST(NULL AS VARCHAR) AS "ContractType",
    ev.federal_tax_number AS "FederalTaxNumber",
    CAST(NULL AS VARCHAR) AS "P_PatientID",
    CAST(NULL AS BIGINT) AS "P_AppPatientID",
    CAST(NULL AS VARCHAR) AS "P_PAdmissionID",
    CAST(NULL AS VARCHAR) AS "P_PName",
    CAST(NULL AS VARCHAR) AS "P_PFName",
    CAST(NULL AS VARCHAR) AS "P_PLName",
    CAST(NULL AS VARCHAR) AS "P_PMedicaidNumber",
    CAST(NULL AS VARCHAR) AS "P_PStatus",
    CAST(NULL AS VARCHAR) AS "P_PAddressID",
    CAST(NULL AS BIGINT) AS "P_PAppAddressID",
    CAST(NULL AS VARCHAR) AS "P_PAddressL1",
    CAST(NULL AS VARCHAR) AS "P_PAddressL2",
    CAST(NULL AS VARCHAR) AS "P_PCity",
    CAST(NULL AS VARCHAR) AS "P_PAddressState",
    CAST(NULL AS VARCHAR) AS "P_PZipCode",
    CAST(NULL AS VARCHAR) AS "P_PCounty",
    CAST(NULL AS VARCHAR) AS "PA_PatientID",
    CAST(NULL AS BIGINT) AS "PA_AppPatientID",
    CAST(NULL AS VARCHAR) AS "PA_PAdmissionID",
    CAST(NULL AS VARCHAR) AS "PA_PName",
    CAST(NULL AS VARCHAR) AS "PA_PFName",
    CAST(NULL AS VARCHAR) AS "PA_PLName",
    CAST(NULL AS VARCHAR) AS "PA_PMedicaidNumber",
    CAST(NULL AS VARCHAR) AS "PA_PStatus",
    CAST(NULL AS VARCHAR) AS "PA_PAddressID",
    CAST(NULL AS BIGINT) AS "PA_PAppAddressID",
    CAST(NULL AS VARCHAR) AS "PA_PAddressL1",
    CAST(NULL AS VARCHAR) AS "PA_PAddressL2",
    CAST(NULL AS VARCHAR) AS "PA_PCity",
    CAST(NULL AS VARCHAR) AS "PA_PAddressState",
    CAST(NULL AS VARCHAR) AS "PA_PZipCode",
    CAST(NULL AS VARCHAR) AS "PA_PCounty",
    ev.start_at AS "InserviceStartDate",
    ev.end_at AS "InserviceEndDate"
FROM event ev
LEFT JOIN office o ON o.office_id = ev.office_id
