-- 0003: the payer dashboard base, materialized view mv_payer_conflicts_common (legacy/data-model.md 1.9),
-- and `payers`, the active-payer source it needs inside PostgreSQL.
--
-- The view replaces the Snowflake dynamic table DT_PAYER_CONFLICTS_COMMON (view V_PAYER_CONFLICTS_COMMON).
-- It is created WITH DATA (empty tables give an empty, populated view) and has a unique index on "ID", so
-- the first REFRESH MATERIALIZED VIEW CONCURRENTLY of the cleanup step already works.
-- It depends on named columns of conflictvisitmaps and conflicts: a later migration that changes one of
-- those columns must drop and recreate the view.

-- Payers as known to the source (Snowflake ANALYTICS.BI.DIMPAYER: "Payer Id", "Application Payer Id",
-- "Payer Name", "Is Active", "Is Demo"). The Snowflake view filtered CVM rows by DIMPAYER directly; the
-- PostgreSQL view cannot reach Snowflake, so a staging step copies DIMPAYER here (upsert by "PayerID")
-- before the view is refreshed. Until it is filled, no payer is active and the view is empty.
CREATE TABLE payers (
    "PayerID" uuid NOT NULL,
    "AppPayerID" int8,
    "PayerName" varchar(255),
    "IsActive" bool,
    "IsDemo" bool,
    "UpdatedDate" timestamp,
    PRIMARY KEY ("PayerID")
);

CREATE MATERIALIZED VIEW mv_payer_conflicts_common AS
WITH eligible AS (
    -- Rows of active, non-demo payers, without "PTO-only" rows (PTO with every other flag 'N').
    -- NULL flags count as 'N' and a NULL PTOFlag as not PTO, so no row is dropped by a NULL comparison.
    SELECT cvm."ID", cvm."CONFLICTID", cvm."GroupID", cvm."FederalTaxNumber", cvm."PayerID",
           cvm."AppPayerID", cvm."ConPayerID", cvm."Contract", cvm."ContractType", cvm."ConContractType",
           cvm."ConContract", cvm."ProviderID", cvm."ProviderName", cvm."AgencyContact", cvm."AgencyPhone",
           cvm."AppVisitID", cvm."ConAppVisitID", cvm."VisitID", cvm."ConVisitID", cvm."CaregiverID",
           cvm."AppCaregiverID", cvm."AideCode", cvm."AideFName", cvm."AideLName", cvm."AideSSN", cvm."SSN",
           cvm."PA_PatientID", cvm."PA_PName", cvm."PA_PAdmissionID", cvm."PA_PFName", cvm."PA_PLName",
           cvm."PA_PMedicaidNumber", cvm."PA_PStatus", cvm."PA_PCounty", cvm."P_PCounty", cvm."VisitDate",
           cvm."VisitStartTime", cvm."VisitEndTime", cvm."SchStartTime", cvm."SchEndTime",
           cvm."EVVStartTime", cvm."EVVEndTime", cvm."ShVTSTTime", cvm."ShVTENTime", cvm."CShVTSTTime",
           cvm."CShVTENTime", cvm."BilledRateMinute", cvm."BilledHours", cvm."BilledDate",
           cvm."TotalBilledAmount", cvm."Billed", cvm."BILLABLEMINUTESFULLSHIFT",
           cvm."BILLABLEMINUTESOVERLAP", cvm."SameSchTimeFlag", cvm."SameVisitTimeFlag",
           cvm."SchAndVisitTimeSameFlag", cvm."SchOverAnotherSchTimeFlag",
           cvm."VisitTimeOverAnotherVisitTimeFlag", cvm."SchTimeOverVisitTimeFlag", cvm."DistanceFlag",
           cvm."InServiceFlag", cvm."PTOFlag", cvm."StatusFlag", cvm."FlagForReview", cvm."IsMissed",
           cvm."MissedVisitReason", cvm."ServiceCode", cvm."EVVType", cvm."DistanceMilesFromLatLng",
           cvm."OfficeID", cvm."Office", cvm."LastUpdatedBy", cvm."LastUpdatedDate", cvm."CRDATEUNIQUE",
           cvm."G_CRDATEUNIQUE",
           -- The unordered pair of app visit ids, smaller first; NULL when either id is NULL.
           CASE
               WHEN cvm."AppVisitID" <= cvm."ConAppVisitID"
                   THEN cvm."AppVisitID"::text || '|' || cvm."ConAppVisitID"::text
               ELSE cvm."ConAppVisitID"::text || '|' || cvm."AppVisitID"::text
           END AS "VISIT_KEY"
    FROM conflictvisitmaps AS cvm
    WHERE EXISTS (
              SELECT 1
              FROM payers AS p
              WHERE p."PayerID" = cvm."PayerID" AND p."IsActive" AND NOT p."IsDemo"
          )
      AND NOT (
              COALESCE(cvm."PTOFlag", 'N') = 'Y'
          AND COALESCE(cvm."SameSchTimeFlag", 'N') = 'N'
          AND COALESCE(cvm."SameVisitTimeFlag", 'N') = 'N'
          AND COALESCE(cvm."SchAndVisitTimeSameFlag", 'N') = 'N'
          AND COALESCE(cvm."SchOverAnotherSchTimeFlag", 'N') = 'N'
          AND COALESCE(cvm."VisitTimeOverAnotherVisitTimeFlag", 'N') = 'N'
          AND COALESCE(cvm."SchTimeOverVisitTimeFlag", 'N') = 'N'
          AND COALESCE(cvm."DistanceFlag", 'N') = 'N'
          AND COALESCE(cvm."InServiceFlag", 'N') = 'N'
          )
),
group_sizes AS (
    -- Distinct conflicts per connected group, over the eligible rows. Rows without a "GroupID" (no step
    -- of this pipeline assigns one) are kept with a NULL GROUP_SIZE; the Snowflake view's inner join
    -- would have dropped them, which would leave the dashboard empty.
    SELECT "GroupID", COUNT(DISTINCT "CONFLICTID") AS "GROUP_SIZE"
    FROM eligible
    WHERE "GroupID" IS NOT NULL
    GROUP BY "GroupID"
),
canonical AS (
    -- One row per (CONFLICTID, VISIT_KEY): the one with the lowest "ID" (A->B and B->A of one conflict).
    SELECT DISTINCT ON ("CONFLICTID", "VISIT_KEY") *
    FROM eligible
    ORDER BY "CONFLICTID", "VISIT_KEY", "ID"
),
enriched AS (
    SELECT c.*,
           cf."StatusFlag" AS "OrgParentStatusFlag",
           cf."NoResponseFlag",
           gs."GROUP_SIZE",
           CASE
               WHEN 'Y' IN (c."SameSchTimeFlag", c."SameVisitTimeFlag", c."SchAndVisitTimeSameFlag",
                            c."SchOverAnotherSchTimeFlag", c."VisitTimeOverAnotherVisitTimeFlag",
                            c."SchTimeOverVisitTimeFlag")
                   THEN 1 ELSE 0
           END AS "HAS_TIME_OVERLAP",
           CASE WHEN c."DistanceFlag" = 'Y' THEN 1 ELSE 0 END AS "HAS_TIME_DISTANCE",
           CASE WHEN c."InServiceFlag" = 'Y' THEN 1 ELSE 0 END AS "HAS_IN_SERVICE",
           -- Minutes as Snowflake's TIMESTAMPDIFF(MINUTE, a, b) counts them: minute boundaries crossed.
           CASE
               WHEN c."BILLABLEMINUTESFULLSHIFT" IS NOT NULL THEN c."BILLABLEMINUTESFULLSHIFT"::float8
               WHEN c."ShVTSTTime" IS NOT NULL AND c."ShVTENTime" IS NOT NULL
                   THEN EXTRACT(EPOCH FROM date_trunc('minute', c."ShVTENTime")
                                         - date_trunc('minute', c."ShVTSTTime"))::float8 / 60
               ELSE 0
           END AS "FULL_SHIFT_MIN",
           CASE
               WHEN c."BILLABLEMINUTESOVERLAP" IS NOT NULL
                    AND (gs."GROUP_SIZE" <= 2 OR c."DistanceFlag" = 'Y')
                   THEN c."BILLABLEMINUTESOVERLAP"::float8
               WHEN c."ShVTSTTime" IS NOT NULL AND c."ShVTENTime" IS NOT NULL
                    AND c."CShVTSTTime" IS NOT NULL AND c."CShVTENTime" IS NOT NULL
                   THEN GREATEST(0, EXTRACT(EPOCH FROM
                            date_trunc('minute', LEAST(c."ShVTENTime", c."CShVTENTime"))
                          - date_trunc('minute', GREATEST(c."ShVTSTTime", c."CShVTSTTime")))::float8 / 60)
               ELSE 0
           END AS "OVERLAP_MIN"
    FROM canonical AS c
    JOIN conflicts AS cf ON cf."CONFLICTID" = c."CONFLICTID"
    LEFT JOIN group_sizes AS gs ON gs."GroupID" = c."GroupID"
),
classified AS (
    SELECT e.*,
           COALESCE(e."PA_PCounty", e."P_PCounty") AS "COUNTY",
           CASE (e."HAS_TIME_OVERLAP", e."HAS_TIME_DISTANCE", e."HAS_IN_SERVICE")
               WHEN (1, 0, 0) THEN 'only_to'
               WHEN (0, 1, 0) THEN 'only_td'
               WHEN (0, 0, 1) THEN 'only_is'
               WHEN (1, 1, 0) THEN 'both_to_td'
               WHEN (1, 0, 1) THEN 'both_to_is'
               WHEN (0, 1, 1) THEN 'both_td_is'
               WHEN (1, 1, 1) THEN 'all_to_td_is'
           END AS "CONTYPE",
           CASE
               WHEN e."HAS_TIME_OVERLAP" = 1 THEN '100'
               WHEN e."HAS_TIME_DISTANCE" = 1 THEN '7'
               WHEN e."HAS_IN_SERVICE" = 1 THEN '8'
           END AS "CONTYPEOLD",
           CASE WHEN e."BilledRateMinute" > 0 THEN e."FULL_SHIFT_MIN" * e."BilledRateMinute" ELSE 0 END
               AS "FULL_SHIFT_AMOUNT",
           CASE WHEN e."BilledRateMinute" > 0 THEN e."OVERLAP_MIN" * e."BilledRateMinute" ELSE 0 END
               AS "OVERLAP_AMOUNT",
           CASE WHEN e."Billed" = 'yes' THEN 'Recovery' ELSE 'Avoidance' END AS "COSTTYPE",
           CASE
               WHEN e."VisitStartTime" IS NULL THEN 'Scheduled'
               WHEN COALESCE(e."Billed", 'no') <> 'yes' THEN 'Confirmed'
               ELSE 'Billed'
           END AS "VISITTYPE"
    FROM enriched AS e
)
SELECT "ID", "CONFLICTID", "GroupID", "FederalTaxNumber", "PayerID", "AppPayerID", "ConPayerID", "Contract",
       "ContractType", "ConContractType", "ConContract", "ProviderID", "ProviderName", "AgencyContact",
       "AgencyPhone", "AppVisitID", "ConAppVisitID", "VisitID", "ConVisitID", "CaregiverID", "AppCaregiverID",
       "AideCode", "AideFName", "AideLName", "AideSSN", "SSN", "PA_PatientID", "PA_PName", "PA_PAdmissionID",
       "PA_PFName", "PA_PLName", "PA_PMedicaidNumber", "PA_PStatus", "PA_PCounty", "P_PCounty", "VisitDate",
       "VisitStartTime", "VisitEndTime", "SchStartTime", "SchEndTime", "EVVStartTime", "EVVEndTime",
       "ShVTSTTime", "ShVTENTime", "CShVTSTTime", "CShVTENTime", "BilledRateMinute", "BilledHours",
       "BilledDate", "TotalBilledAmount", "Billed", "BILLABLEMINUTESFULLSHIFT", "BILLABLEMINUTESOVERLAP",
       "SameSchTimeFlag", "SameVisitTimeFlag", "SchAndVisitTimeSameFlag", "SchOverAnotherSchTimeFlag",
       "VisitTimeOverAnotherVisitTimeFlag", "SchTimeOverVisitTimeFlag", "DistanceFlag", "InServiceFlag",
       "PTOFlag", "StatusFlag", "OrgParentStatusFlag", "FlagForReview", "IsMissed", "MissedVisitReason",
       "NoResponseFlag", "ServiceCode", "EVVType", "DistanceMilesFromLatLng", "OfficeID", "Office",
       "LastUpdatedBy", "LastUpdatedDate", "CRDATEUNIQUE", "G_CRDATEUNIQUE", "GROUP_SIZE", "VISIT_KEY",
       "HAS_TIME_OVERLAP", "HAS_TIME_DISTANCE", "HAS_IN_SERVICE", "FULL_SHIFT_MIN", "OVERLAP_MIN", "COUNTY",
       "CONTYPE", "CONTYPEOLD", "FULL_SHIFT_AMOUNT", "OVERLAP_AMOUNT",
       CASE WHEN "StatusFlag" = 'R' THEN "OVERLAP_AMOUNT" ELSE 0 END AS "FINAL_AMOUNT",
       "COSTTYPE", "VISITTYPE"
FROM classified
WHERE "CONTYPE" IS NOT NULL
WITH DATA;

-- REFRESH ... CONCURRENTLY needs a unique index without a predicate. "ID" is unique in the view: each
-- CVM row appears at most once (DISTINCT ON keeps one row per key; the conflicts join is on its PK).
CREATE UNIQUE INDEX idx_mv_payer_conflicts_common_id
    ON mv_payer_conflicts_common ("ID");
