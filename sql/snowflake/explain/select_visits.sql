-- `visit-conflicts explain` (not a step): the visits an explanation is about, one row per visit id, with
-- the attributes detection computes for them and every check that decides whether they are paired.
-- Bound: visit_ids (a JSON array of lower-case visit ids), with_group (TRUE: also every other visit of
-- the same caregiver SSN on the same date, the visit's group), and the run parameters of
-- source.common.run_params (time_zone, uuid_pattern, ...). Session tables: VC_EXCLUDED_SSN and
-- VC_EXCLUDED_PROVIDER (source.common.load_exclusions).
--
-- The attributes are detection's own blocks (common/caregiver_rows, provider_rows, scope_visit_columns,
-- visit_attributes: the D6 coordinates, the cross-state sides), so a visit shows here exactly the values
-- its pairs carry. Unlike detection, nothing is filtered out: a visit whose caregiver has no usable SSN
-- or whose provider is inactive, a demo or excluded is still returned, with the check that fails as a
-- column, so that an explanation can say why a visit is not paired. One row per visit id, chosen in
-- detection's order (D8; select_conflict_pairs.sql), with the number of source rows of that id.
WITH caregiver AS (
    -- @include snowflake/common/caregiver_rows.sql
),
provider AS (
    -- @include snowflake/common/provider_rows.sql
),
requested AS (
    SELECT LOWER(f.value::VARCHAR) AS visit_id
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%(visit_ids)s))) f
),
requested_group AS (
    -- The groups (visit date in the business time zone, trimmed SSN) of the requested visits.
    SELECT DISTINCT CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE) AS visit_date, cg.ssn
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN caregiver cg ON cg.caregiver_id = cr."Caregiver Id"
    WHERE %(with_group)s AND LOWER(cr."Visit Id") IN (SELECT visit_id FROM requested)
),
provider_any AS (
    -- Every provider id of the dimension: its name and whether a row is active, a demo (the scope of
    -- provider_rows.sql is active and not a demo).
    SELECT
        "Provider Id" AS provider_id,
        MAX("Provider Name") AS any_provider_name,
        MAX(IFF("Is Active" = TRUE, 1, 0)) AS any_active,
        MAX(IFF("Is Demo" = TRUE, 1, 0)) AS any_demo
    FROM DIMPROVIDER
    GROUP BY "Provider Id"
),
scope_visit AS (
    SELECT
        -- @include snowflake/common/scope_visit_columns.sql
        ,
        cg.caregiver_id AS usable_caregiver_id,
        p.provider_id AS scoped_provider_id,
        pa.any_provider_name,
        pa.any_active,
        pa.any_demo,
        -- The D23 reasons detection skips a row for (the plan step counts them by the same expression).
        -- @include snowflake/common/row_skip_reason.sql
            AS skip_reason,
        COUNT(*) OVER (PARTITION BY LOWER(cr."Visit Id")) AS source_rows
    FROM FACTVISITCALLPERFORMANCE_CR cr
    LEFT JOIN caregiver cg ON cg.caregiver_id = cr."Caregiver Id"
    LEFT JOIN provider p ON p.provider_id = cr."Provider Id"
    LEFT JOIN provider_any pa ON pa.provider_id = cr."Provider Id"
    WHERE LOWER(cr."Visit Id") IN (SELECT visit_id FROM requested)
       OR EXISTS (
           SELECT 1 FROM requested_group rg
           WHERE rg.ssn = cg.ssn
             AND rg.visit_date = CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(cr."Visit Date" AS TIMESTAMP_TZ)) AS DATE)
       )
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY LOWER(cr."Visit Id")
        ORDER BY cr."Visit Updated Timestamp" DESC NULLS LAST, cr."Application Visit Id" NULLS LAST,
            cr."Provider Id", cr."Scheduled Start Time" NULLS LAST, cr."Scheduled End Time" NULLS LAST,
            cr."Visit Start Time" NULLS LAST, cr."Visit End Time" NULLS LAST
    ) = 1
),
-- @include snowflake/common/visit_attributes.sql
SELECT
    bv."VisitID" AS visit_id,
    bv."AppVisitID" AS app_visit_id,
    bv."SSN" AS ssn,
    bv."VisitDate" AS visit_date,
    bv."ProviderID" AS provider_id,
    COALESCE(bv."ProviderName", sv.any_provider_name) AS provider_name,
    bv."CaregiverID" AS caregiver_id,
    bv."AideName" AS caregiver_name,
    bv."Office" AS office,
    bv."PatientID" AS patient_id,
    bv."P_PName" AS patient_name,
    bv."Contract" AS contract,
    bv."SchStartTime" AS sch_start,
    bv."SchEndTime" AS sch_end,
    bv."VisitStartTime" AS visit_start,
    bv."VisitEndTime" AS visit_end,
    bv."EVVStartTime" AS call_in_time,
    bv."EVVEndTime" AS call_out_time,
    bv."IsMissed" AS is_missed,
    bv."LastUpdatedDate" AS last_updated,
    bv."LastUpdatedBy" AS last_updated_by,
    bv."PLatitude" AS latitude,
    bv."PLongitude" AS longitude,
    sv.call_out_gps,
    sv.call_in_gps,
    sv.out_lat,
    sv.out_lon,
    sv.in_lat,
    sv.in_lon,
    sv.addr_lat,
    sv.addr_lon,
    bv."P_PAddressState" AS patient_state,
    bv."PA_PAddressState" AS payer_patient_state,
    sv.provider_address_state AS provider_state,
    bv.p_final_state,
    bv.pa_final_state,
    sv.usable_caregiver_id IS NOT NULL AS caregiver_usable,
    sv.scoped_provider_id IS NOT NULL AS provider_in_scope,
    COALESCE(sv.any_active = 1, FALSE) AS provider_active,
    COALESCE(sv.any_demo = 1, FALSE) AS provider_demo,
    COALESCE(sv.ssn IN (SELECT ssn FROM VC_EXCLUDED_SSN), FALSE) AS ssn_excluded,
    COALESCE(LOWER(sv.provider_id) IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER), FALSE) AS provider_excluded,
    sv.skip_reason,
    sv.source_rows,
    LOWER(sv.visit_id) IN (SELECT visit_id FROM requested) AS requested
FROM base_visit bv
JOIN stated_visit sv ON sv.visit_id = bv."VisitID"
ORDER BY bv."VisitID"
