-- Shared CTEs (included with `-- @include snowflake/common/visit_attributes.sql` by detect's
-- select_conflict_pairs.sql and InService's create_visits.sql): from a preceding CTE `scope_visit`,
-- one row per visit with the source columns under snake_case names (visit_id lower-case, raw
-- TIMESTAMP_TZ times, the caregiver's ssn/code/names/status and the provider's name, phone, federal tax
-- number and address_state), build `base_visit`: the visit's conflictvisitmaps attributes (un-prefixed
-- names) with its dimension rows (office, provider- and payer-side patient and primary GPS address,
-- payer, contract, service code, last updating user; D8: one row per dimension id), the D6 GPS
-- priority, and the two sides of the cross-state filter (p_final_state, pa_final_state).
-- Expects the bound parameter time_zone (D1). Source times become wall-clock values in that zone through
-- CONVERT_TIMEZONE of an explicit CAST(... AS TIMESTAMP_TZ) (why: detect/select_conflict_pairs.sql).
scope_patient_id AS (
    SELECT provider_patient_id AS patient_id FROM scope_visit
    UNION
    SELECT payer_patient_id AS patient_id FROM scope_visit
),
office AS (
    SELECT "Office Id" AS office_id, "Office Name" AS office_name
    FROM DIMOFFICE
    WHERE "Is Active" = TRUE AND "Office Id" IN (SELECT office_id FROM scope_visit)
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
    WHERE "Is Active" = TRUE AND "Is Demo" = FALSE AND "Payer Id" IN (SELECT payer_id FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Payer Id" ORDER BY "Payer Name" NULLS LAST, "Payer State" NULLS LAST
    ) = 1
),
contract AS (
    SELECT "Contract Id" AS contract_id, "Contract Name" AS contract_name
    FROM DIMCONTRACT
    WHERE "Is Active" = TRUE AND "Contract Id" IN (SELECT contract_id FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY "Contract Id" ORDER BY "Contract Name" NULLS LAST) = 1
),
service_code AS (
    SELECT
        "Service Code Id" AS service_code_id,
        "Application Service Code Id" AS app_service_code_id,
        "Service Code" AS service_code
    FROM DIMSERVICECODE
    WHERE "Service Code Id" IN (SELECT service_code_id FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY "Service Code Id"
        ORDER BY "Application Service Code Id" NULLS LAST, "Service Code" NULLS LAST
    ) = 1
),
app_user AS (
    SELECT "User Id" AS user_id, "User Fullname" AS user_fullname
    FROM DIMUSER
    WHERE "User Id" IN (SELECT visit_updated_user_id FROM scope_visit)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY "User Id" ORDER BY "User Fullname" NULLS LAST) = 1
),
gps_text_visit AS (
    -- D6: GPS text with '"' removed, split on ','; element 0 = latitude, element 1 = longitude.
    SELECT
        sv.*,
        TRIM(SPLIT_PART(REPLACE(sv.call_out_gps, '"', ''), ',', 1)) AS out_lat_text,
        TRIM(SPLIT_PART(REPLACE(sv.call_out_gps, '"', ''), ',', 2)) AS out_lon_text,
        TRIM(SPLIT_PART(REPLACE(sv.call_in_gps, '"', ''), ',', 1)) AS in_lat_text,
        TRIM(SPLIT_PART(REPLACE(sv.call_in_gps, '"', ''), ',', 2)) AS in_lon_text
    FROM scope_visit sv
),
located_visit AS (
    -- A coordinate parses when its text is plain decimal notation (decimal_pattern, tested first so
    -- that both engines read the same texts).
    SELECT
        sv.*,
        IFF(REGEXP_LIKE(sv.out_lat_text, %(decimal_pattern)s), TRY_CAST(sv.out_lat_text AS DOUBLE), NULL) AS out_lat,
        IFF(REGEXP_LIKE(sv.out_lon_text, %(decimal_pattern)s), TRY_CAST(sv.out_lon_text AS DOUBLE), NULL) AS out_lon,
        IFF(REGEXP_LIKE(sv.in_lat_text, %(decimal_pattern)s), TRY_CAST(sv.in_lat_text AS DOUBLE), NULL) AS in_lat,
        IFF(REGEXP_LIKE(sv.in_lon_text, %(decimal_pattern)s), TRY_CAST(sv.in_lon_text AS DOUBLE), NULL) AS in_lon,
        o.office_name,
        pp.admission_id AS p_admission_id,
        pp.patient_name AS p_patient_name,
        pp.patient_firstname AS p_patient_firstname,
        pp.patient_lastname AS p_patient_lastname,
        pp.medicaid_number AS p_medicaid_number,
        pp.patient_status AS p_patient_status,
        ap.patient_address_id AS p_patient_address_id,
        ap.app_patient_address_id AS p_app_patient_address_id,
        ap.address_line_1 AS p_address_line_1,
        ap.address_line_2 AS p_address_line_2,
        ap.city AS p_city,
        ap.address_state AS p_address_state,
        ap.zip_code AS p_zip_code,
        ap.county AS p_county,
        ap.latitude AS addr_lat,
        ap.longitude AS addr_lon,
        pa.admission_id AS pa_admission_id,
        pa.patient_name AS pa_patient_name,
        pa.patient_firstname AS pa_patient_firstname,
        pa.patient_lastname AS pa_patient_lastname,
        pa.medicaid_number AS pa_medicaid_number,
        pa.patient_status AS pa_patient_status,
        apa.patient_address_id AS pa_patient_address_id,
        apa.app_patient_address_id AS pa_app_patient_address_id,
        apa.address_line_1 AS pa_address_line_1,
        apa.address_line_2 AS pa_address_line_2,
        apa.city AS pa_city,
        apa.address_state AS pa_address_state,
        apa.zip_code AS pa_zip_code,
        apa.county AS pa_county,
        py.payer_name,
        py.payer_state,
        ct.contract_name,
        sc.service_code_id AS dim_service_code_id,
        sc.app_service_code_id,
        sc.service_code,
        u.user_fullname
    FROM gps_text_visit sv
    LEFT JOIN office o ON o.office_id = sv.office_id
    LEFT JOIN patient pp ON pp.patient_id = sv.provider_patient_id
    LEFT JOIN patient_address ap ON ap.patient_id = pp.patient_id
    LEFT JOIN patient pa ON pa.patient_id = sv.payer_patient_id
    LEFT JOIN patient_address apa ON apa.patient_id = pa.patient_id
    LEFT JOIN payer py ON py.payer_id = sv.payer_id
    LEFT JOIN contract ct ON ct.contract_id = sv.contract_id
    LEFT JOIN service_code sc ON sc.service_code_id = sv.service_code_id
    LEFT JOIN app_user u ON u.user_id = sv.visit_updated_user_id
),
stated_visit AS (
    -- Cross-state normalisation: norm(s) = NULLIF(UPPER(TRIM(s)), '').
    SELECT
        lv.*,
        NULLIF(UPPER(TRIM(lv.p_address_state)), '') AS p_state_norm,
        NULLIF(UPPER(TRIM(lv.pa_address_state)), '') AS pa_state_norm,
        NULLIF(UPPER(TRIM(lv.provider_address_state)), '') AS provider_state_norm
    FROM located_visit lv
),
base_visit AS (
    -- One row per usable visit with its conflictvisitmaps attributes (un-prefixed names) and the
    -- internal columns the rules need. Ids are lower-case uuid text (NULL when not a uuid), app ids
    -- integers (NULL when not numeric), timestamps wall-clock TIMESTAMP_NTZ.
    SELECT
        sv.ssn AS "SSN",
        LOWER(sv.provider_id) AS "ProviderID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_provider_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_provider_id AS VARCHAR)) AS BIGINT), NULL) AS "AppProviderID",
        sv.provider_name AS "ProviderName",
        sv.visit_id AS "VisitID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_visit_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_visit_id AS VARCHAR)) AS BIGINT), NULL) AS "AppVisitID",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.visit_date AS TIMESTAMP_TZ)) AS DATE) AS "VisitDate",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.sch_start AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "SchStartTime",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.sch_end AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "SchEndTime",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.visit_start AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "VisitStartTime",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.visit_end AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "VisitEndTime",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.call_in_time AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "EVVStartTime",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.call_out_time AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "EVVEndTime",
        IFF(REGEXP_LIKE(sv.caregiver_id, %(uuid_pattern)s), LOWER(sv.caregiver_id), NULL) AS "CaregiverID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_caregiver_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_caregiver_id AS VARCHAR)) AS BIGINT), NULL) AS "AppCaregiverID",
        sv.caregiver_code AS "AideCode",
        sv.caregiver_fullname AS "AideName",
        sv.caregiver_firstname AS "AideFName",
        sv.caregiver_lastname AS "AideLName",
        sv.ssn AS "AideSSN",
        sv.caregiver_status AS "AideStatus",
        IFF(REGEXP_LIKE(sv.office_id, %(uuid_pattern)s), LOWER(sv.office_id), NULL) AS "OfficeID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_office_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_office_id AS VARCHAR)) AS BIGINT), NULL) AS "AppOfficeID",
        sv.office_name AS "Office",
        IFF(REGEXP_LIKE(sv.patient_id, %(uuid_pattern)s), LOWER(sv.patient_id), NULL) AS "PatientID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_patient_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_patient_id AS VARCHAR)) AS BIGINT), NULL) AS "AppPatientID",
        -- D6 priority: call-out GPS, then call-in GPS, then the provider-side patient's address; a
        -- source counts only when both numbers parse and lie in [-90, 90] / [-180, 180].
        CASE
            WHEN sv.out_lat BETWEEN -90 AND 90 AND sv.out_lon BETWEEN -180 AND 180 THEN sv.out_lon
            WHEN sv.in_lat BETWEEN -90 AND 90 AND sv.in_lon BETWEEN -180 AND 180 THEN sv.in_lon
            WHEN sv.addr_lat BETWEEN -90 AND 90 AND sv.addr_lon BETWEEN -180 AND 180 THEN sv.addr_lon
        END AS "PLongitude",
        CASE
            WHEN sv.out_lat BETWEEN -90 AND 90 AND sv.out_lon BETWEEN -180 AND 180 THEN sv.out_lat
            WHEN sv.in_lat BETWEEN -90 AND 90 AND sv.in_lon BETWEEN -180 AND 180 THEN sv.in_lat
            WHEN sv.addr_lat BETWEEN -90 AND 90 AND sv.addr_lon BETWEEN -180 AND 180 THEN sv.addr_lat
        END AS "PLatitude",
        IFF(REGEXP_LIKE(sv.payer_id, %(uuid_pattern)s), LOWER(sv.payer_id), NULL) AS "PayerID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_payer_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_payer_id AS VARCHAR)) AS BIGINT), NULL) AS "AppPayerID",
        COALESCE(sv.payer_name, sv.contract_name) AS "Contract",
        sv.payer_state AS "PayerState",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.invoice_date AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "BilledDate",
        CAST(sv.billed_hours AS DOUBLE) AS "BilledHours",
        sv.billed AS "Billed",
        CAST(sv.billed_rate AS DOUBLE) AS "BilledRate",
        CAST(sv.total_billed_amount AS DOUBLE) AS "TotalBilledAmount",
        CAST(sv.bill_rate_non_billed AS DOUBLE) AS "BillRateNonBilled",
        CAST(CASE WHEN sv.billed = 'yes' THEN sv.billed_rate ELSE sv.bill_rate_non_billed END AS DOUBLE) AS "BillRateBoth",
        IFF(REGEXP_LIKE(sv.dim_service_code_id, %(uuid_pattern)s), LOWER(sv.dim_service_code_id), NULL) AS "ServiceCodeID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_service_code_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_service_code_id AS VARCHAR)) AS BIGINT), NULL) AS "AppServiceCodeID",
        sv.bill_type AS "RateType",
        sv.service_code AS "ServiceCode",
        CAST(sv.is_missed AS BOOLEAN) AS "IsMissed",
        sv.missed_visit_reason AS "MissedVisitReason",
        sv.call_out_device_type AS "EVVType",
        sv.phone_number AS "AgencyPhone",
        sv.user_fullname AS "LastUpdatedBy",
        CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(sv.visit_updated AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ) AS "LastUpdatedDate",
        CASE
            WHEN CAST(sv.app_payer_id AS VARCHAR) = '0' AND CAST(sv.app_contract_id AS VARCHAR) <> '0' THEN 'Internal'
            WHEN CAST(sv.app_payer_id AS VARCHAR) <> '0' AND CAST(sv.app_contract_id AS VARCHAR) <> '0' THEN 'UPR'
            WHEN CAST(sv.app_payer_id AS VARCHAR) <> '0' AND CAST(sv.app_contract_id AS VARCHAR) = '0' THEN 'Payer'
        END AS "ContractType",
        sv.federal_tax_number AS "FederalTaxNumber",
        IFF(REGEXP_LIKE(sv.provider_patient_id, %(uuid_pattern)s), LOWER(sv.provider_patient_id), NULL) AS "P_PatientID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_provider_patient_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_provider_patient_id AS VARCHAR)) AS BIGINT), NULL) AS "P_AppPatientID",
        sv.p_admission_id AS "P_PAdmissionID",
        sv.p_patient_name AS "P_PName",
        sv.p_patient_firstname AS "P_PFName",
        sv.p_patient_lastname AS "P_PLName",
        sv.p_medicaid_number AS "P_PMedicaidNumber",
        sv.p_patient_status AS "P_PStatus",
        IFF(REGEXP_LIKE(sv.p_patient_address_id, %(uuid_pattern)s), LOWER(sv.p_patient_address_id), NULL) AS "P_PAddressID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.p_app_patient_address_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.p_app_patient_address_id AS VARCHAR)) AS BIGINT), NULL) AS "P_PAppAddressID",
        sv.p_address_line_1 AS "P_PAddressL1",
        sv.p_address_line_2 AS "P_PAddressL2",
        sv.p_city AS "P_PCity",
        sv.p_address_state AS "P_PAddressState",
        sv.p_zip_code AS "P_PZipCode",
        sv.p_county AS "P_PCounty",
        IFF(REGEXP_LIKE(sv.payer_patient_id, %(uuid_pattern)s), LOWER(sv.payer_patient_id), NULL) AS "PA_PatientID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.app_payer_patient_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.app_payer_patient_id AS VARCHAR)) AS BIGINT), NULL) AS "PA_AppPatientID",
        sv.pa_admission_id AS "PA_PAdmissionID",
        sv.pa_patient_name AS "PA_PName",
        sv.pa_patient_firstname AS "PA_PFName",
        sv.pa_patient_lastname AS "PA_PLName",
        sv.pa_medicaid_number AS "PA_PMedicaidNumber",
        sv.pa_patient_status AS "PA_PStatus",
        IFF(REGEXP_LIKE(sv.pa_patient_address_id, %(uuid_pattern)s), LOWER(sv.pa_patient_address_id), NULL) AS "PA_PAddressID",
        IFF(REGEXP_LIKE(TRIM(CAST(sv.pa_app_patient_address_id AS VARCHAR)), %(app_id_pattern)s), TRY_CAST(TRIM(CAST(sv.pa_app_patient_address_id AS VARCHAR)) AS BIGINT), NULL) AS "PA_PAppAddressID",
        sv.pa_address_line_1 AS "PA_PAddressL1",
        sv.pa_address_line_2 AS "PA_PAddressL2",
        sv.pa_city AS "PA_PCity",
        sv.pa_address_state AS "PA_PAddressState",
        sv.pa_zip_code AS "PA_PZipCode",
        sv.pa_county AS "PA_PCounty",
        -- Cross-state sides: the two patient-address states mapped to codes; when both are blank,
        -- the provider's state (normalised, not mapped) stands for both.
        CASE
            WHEN sv.p_state_norm IS NULL AND sv.pa_state_norm IS NULL THEN sv.provider_state_norm
            ELSE CASE sv.p_state_norm
                WHEN 'MISSISSIPPI' THEN 'MS' WHEN 'NEW YORK' THEN 'NY'
                WHEN 'PENNSYLVANIA' THEN 'PA' WHEN 'LONG ISLAND' THEN 'LI'
                ELSE sv.p_state_norm
            END
        END AS p_final_state,
        CASE
            WHEN sv.p_state_norm IS NULL AND sv.pa_state_norm IS NULL THEN sv.provider_state_norm
            ELSE CASE sv.pa_state_norm
                WHEN 'MISSISSIPPI' THEN 'MS' WHEN 'NEW YORK' THEN 'NY'
                WHEN 'PENNSYLVANIA' THEN 'PA' WHEN 'LONG ISLAND' THEN 'LI'
                ELSE sv.pa_state_norm
            END
        END AS pa_final_state
    FROM stated_visit sv
)
