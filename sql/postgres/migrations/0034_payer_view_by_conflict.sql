-- 0034: the payer view (mv_payer_conflicts_common) maintained for the changed conflicts only (issue 13).
--
-- PostgreSQL refreshes a materialized view whole: 34.5 s at 1M CVM rows (the DISTINCT ON, the group
-- sizes and the joins over every row), about 315 s at full volume, every run. Readers and the production
-- pg_cron job (`REFRESH MATERIALIZED VIEW ... mv_payer_conflicts_common`, by name; the pipeline only
-- toggles it, D18) both expect a materialized view of that name, so it stays one, with the same columns
-- and unique index; what changes is where its rows are computed:
--
-- * payer_conflicts_common (a table, same columns) holds the view's rows. The pipeline maintains it per
--   conflict: the rows of the conflicts in the change log (migration 0032; with every conflict of a
--   GroupID whose pairs changed, for GROUP_SIZE) are deleted and computed again, in one transaction
--   (visit_conflicts/store/payer_view.py). A full rebuild stays available for repair
--   (payer_view_mode = "rebuild"), and is what a change to `payers` or a TRUNCATE asks for.
-- * payer_conflict_rows(conflict ids) is the view's definition of migration 0003, for the given conflicts
--   (NULL: all); the rebuild and the maintenance both use it, so there is one definition.
-- * mv_payer_conflicts_common selects the table's rows, except those of conflicts changed since the last
--   maintenance, which it computes live from the change log. A refresh (the pipeline's after each
--   maintenance, or the cron job's between runs) therefore copies the table and computes only the
--   changed conflicts: between runs, users' changes still reach the view at the cron job's next refresh.
--
-- The old view's owner and grants are carried over to the new one.

CREATE INDEX IF NOT EXISTS idx_cvm_groupid ON conflictvisitmaps ("GroupID") WHERE "GroupID" IS NOT NULL;

CREATE TABLE payer_conflicts_common AS SELECT * FROM mv_payer_conflicts_common WITH NO DATA;
CREATE UNIQUE INDEX idx_payer_conflicts_common_id ON payer_conflicts_common ("ID");
CREATE INDEX idx_payer_conflicts_common_conflictid ON payer_conflicts_common ("CONFLICTID");

-- The rows of mv_payer_conflicts_common (migration 0003's definition) for the conflicts `conflict_ids`
-- (NULL: every conflict). Its search_path is the migration's, so a refresh from any session (pg_cron's)
-- finds the tables. The query runs by EXECUTE with the conflict filter in its text, so each call is
-- planned for its own case (the given conflicts through idx_cvm_conflictid; all of them by one scan)
-- rather than by one generic plan that could do neither well.
CREATE FUNCTION payer_conflict_rows(conflict_ids int8[]) RETURNS SETOF payer_conflicts_common
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $function$
DECLARE
    query constant text := $query$
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
    WHERE %s
      AND EXISTS (
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
    -- Distinct conflicts per connected group, over the eligible rows of the whole table (a group spans
    -- conflicts beyond those asked for). Rows without a "GroupID" (no step of this pipeline assigns one)
    -- are kept with a NULL GROUP_SIZE; the Snowflake view's inner join would have dropped them, which
    -- would leave the dashboard empty.
    SELECT g."GroupID", COUNT(DISTINCT g."CONFLICTID") AS "GROUP_SIZE"
    FROM conflictvisitmaps AS g
    WHERE g."GroupID" IN (SELECT "GroupID" FROM eligible WHERE "GroupID" IS NOT NULL)
      AND EXISTS (
              SELECT 1
              FROM payers AS p
              WHERE p."PayerID" = g."PayerID" AND p."IsActive" AND NOT p."IsDemo"
          )
      AND NOT (
              COALESCE(g."PTOFlag", 'N') = 'Y'
          AND COALESCE(g."SameSchTimeFlag", 'N') = 'N'
          AND COALESCE(g."SameVisitTimeFlag", 'N') = 'N'
          AND COALESCE(g."SchAndVisitTimeSameFlag", 'N') = 'N'
          AND COALESCE(g."SchOverAnotherSchTimeFlag", 'N') = 'N'
          AND COALESCE(g."VisitTimeOverAnotherVisitTimeFlag", 'N') = 'N'
          AND COALESCE(g."SchTimeOverVisitTimeFlag", 'N') = 'N'
          AND COALESCE(g."DistanceFlag", 'N') = 'N'
          AND COALESCE(g."InServiceFlag", 'N') = 'N'
          )
    GROUP BY g."GroupID"
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
$query$;
BEGIN
    RETURN QUERY EXECUTE format(
        query, CASE WHEN conflict_ids IS NULL THEN 'true' ELSE 'cvm."CONFLICTID" = ANY ($1)' END
    ) USING conflict_ids;
END
$function$;

-- The conflicts whose rows the change log says may have changed since the last maintenance: those
-- logged, and every conflict with a pair in a logged GroupID (GROUP_SIZE).
CREATE VIEW payer_view_pending_conflicts AS
SELECT conflict_id FROM change_log_payer_view WHERE conflict_id IS NOT NULL
UNION
SELECT c."CONFLICTID"
FROM conflictvisitmaps c
WHERE c."GroupID" IN (SELECT group_id FROM change_log_payer_view WHERE group_id IS NOT NULL)
  AND c."CONFLICTID" IS NOT NULL;

INSERT INTO payer_conflicts_common SELECT * FROM payer_conflict_rows(NULL);
UPDATE change_log_reader SET rebuild = false WHERE reader = 'payer_view';
DELETE FROM change_log_payer_view;

DO $$
DECLARE
    old_owner name;
    old_acl aclitem[];
    grant_row record;
BEGIN
    SELECT pg_get_userbyid(c.relowner), c.relacl INTO old_owner, old_acl
    FROM pg_class c WHERE c.oid = 'mv_payer_conflicts_common'::regclass;

    DROP MATERIALIZED VIEW mv_payer_conflicts_common;
    CREATE MATERIALIZED VIEW mv_payer_conflicts_common AS
    SELECT b.*
    FROM payer_conflicts_common AS b
    WHERE NOT EXISTS (SELECT 1 FROM payer_view_pending_conflicts p WHERE p.conflict_id = b."CONFLICTID")
    UNION ALL
    SELECT r.*
    FROM payer_conflict_rows(
        (SELECT COALESCE(array_agg(conflict_id), '{}') FROM payer_view_pending_conflicts)
    ) AS r
    WITH DATA;
    -- REFRESH ... CONCURRENTLY needs a unique index without a predicate (migration 0003).
    CREATE UNIQUE INDEX idx_mv_payer_conflicts_common_id ON mv_payer_conflicts_common ("ID");

    IF old_owner IS DISTINCT FROM current_user THEN
        EXECUTE format('ALTER MATERIALIZED VIEW mv_payer_conflicts_common OWNER TO %I', old_owner);
    END IF;
    FOR grant_row IN SELECT * FROM aclexplode(old_acl) LOOP
        CONTINUE WHEN grant_row.grantee = (SELECT relowner FROM pg_class WHERE oid = 'mv_payer_conflicts_common'::regclass);
        EXECUTE format(
            'GRANT %s ON mv_payer_conflicts_common TO %s%s',
            grant_row.privilege_type,
            CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END,
            CASE WHEN grant_row.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
        );
    END LOOP;
END
$$;
