-- VC_INSERVICE_VISIT: the eligible visits of the scoped SSNs, one row
-- per visit id (D8: the latest update first), with their dimension rows, in the columns of
-- VC_INSERVICE_EVENT. Run after create_candidates.sql: only visits that overlap an event of the same
-- SSN at another provider can pair, so only those are enriched. Eligible: a usable candidate (inside
-- the window, not missed, actual start <= end, uuid ids, an active, non-demo, not excluded provider, a
-- caregiver with a usable SSN) that NO InService event of the same caregiver at the visit's own
-- provider overlaps (any event of FACTCAREGIVERINSERVICE, closed interval; such a visit is dropped for
-- every provider's events, C.2).
-- The attribute columns come from the CTEs that detection uses too
-- (sql/snowflake/common/visit_attributes.sql): a visit carries the same values in a regular pair and
-- in an InService pair.
CREATE OR REPLACE TEMPORARY TABLE VC_INSERVICE_VISIT AS
WITH eligible_visit AS (
    SELECT
        -- @include snowflake/common/visit_fact_read_columns.sql
    FROM VC_INSERVICE_CANDIDATE cr
    WHERE cr.skip_reason IS NULL
      -- No event of the same caregiver at its own provider overlaps it.
      AND NOT EXISTS (
          SELECT 1 FROM FACTCAREGIVERINSERVICE own
          WHERE own."Caregiver Id" = cr."Caregiver Id"
            AND LOWER(own."Provider Id") = LOWER(cr."Provider Id")
            AND own."Inservice start date" IS NOT NULL
            AND own."Inservice end date" IS NOT NULL
            AND cr.visit_start <= CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(own."Inservice end date" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ)
            AND cr.visit_end >= CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(own."Inservice start date" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ)
      )
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY LOWER(cr."Visit Id")
        ORDER BY cr."Visit Updated Timestamp" DESC NULLS LAST, cr."Application Visit Id" NULLS LAST,
            cr."Provider Id", cr."Visit Start Time", cr."Visit End Time"
    ) = 1
),
scope_visit AS (
    -- The eligible visits in the shape visit_attributes.sql expects (raw source times; it converts).
    SELECT
        -- @include snowflake/common/scope_visit_columns.sql
    FROM eligible_visit cr
    JOIN VC_INSERVICE_CAREGIVER cg ON cg.caregiver_id = cr."Caregiver Id"
    JOIN VC_INSERVICE_PROVIDER p ON p.provider_id = cr."Provider Id"
),
-- @include snowflake/common/visit_attributes.sql
SELECT
    "SSN",
    "ProviderID",
    "AppProviderID",
    "ProviderName",
    "VisitID",
    "AppVisitID",
    "VisitDate",
    "SchStartTime",
    "SchEndTime",
    "VisitStartTime",
    "VisitEndTime",
    "EVVStartTime",
    "EVVEndTime",
    "CaregiverID",
    "AppCaregiverID",
    "AideCode",
    "AideName",
    "AideFName",
    "AideLName",
    "AideSSN",
    "AideStatus",
    "OfficeID",
    "AppOfficeID",
    "Office",
    "PatientID",
    "AppPatientID",
    "PLongitude",
    "PLatitude",
    "PayerID",
    "AppPayerID",
    "Contract",
    "PayerState",
    "BilledDate",
    "BilledHours",
    "Billed",
    "BilledRate",
    "TotalBilledAmount",
    "BillRateNonBilled",
    "BillRateBoth",
    "ServiceCodeID",
    "AppServiceCodeID",
    "RateType",
    "ServiceCode",
    "IsMissed",
    "MissedVisitReason",
    "EVVType",
    "AgencyPhone",
    "LastUpdatedBy",
    "LastUpdatedDate",
    "ContractType",
    "FederalTaxNumber",
    "P_PatientID",
    "P_AppPatientID",
    "P_PAdmissionID",
    "P_PName",
    "P_PFName",
    "P_PLName",
    "P_PMedicaidNumber",
    "P_PStatus",
    "P_PAddressID",
    "P_PAppAddressID",
    "P_PAddressL1",
    "P_PAddressL2",
    "P_PCity",
    "P_PAddressState",
    "P_PZipCode",
    "P_PCounty",
    "PA_PatientID",
    "PA_AppPatientID",
    "PA_PAdmissionID",
    "PA_PName",
    "PA_PFName",
    "PA_PLName",
    "PA_PMedicaidNumber",
    "PA_PStatus",
    "PA_PAddressID",
    "PA_PAppAddressID",
    "PA_PAddressL1",
    "PA_PAddressL2",
    "PA_PCity",
    "PA_PAddressState",
    "PA_PZipCode",
    "PA_PCounty",
    CAST(NULL AS TIMESTAMP_NTZ) AS "InserviceStartDate",
    CAST(NULL AS TIMESTAMP_NTZ) AS "InserviceEndDate"
FROM base_visit
