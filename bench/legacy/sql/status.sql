-- task03_status_management's units (the legacy status management), in execution order, over the whole
-- visit window [%(ws)s, %(we)s]. Each unit runs in its own transaction. `-- unit: NAME` starts a unit.

-- unit: deleted_visits_cvm
WITH hit AS (
    SELECT c."ID" FROM conflictvisitmaps c JOIN _tmp_deleted_visits d ON c."ConVisitID" = d."VisitID"::uuid
    WHERE c."StatusFlag" <> 'D' AND c."VisitDate" BETWEEN %(ws)s AND %(we)s
    UNION
    SELECT c."ID" FROM conflictvisitmaps c JOIN _tmp_deleted_visits d ON c."VisitID" = d."VisitID"::uuid
    WHERE c."StatusFlag" <> 'D' AND c."VisitDate" BETWEEN %(ws)s AND %(we)s
)
UPDATE conflictvisitmaps c
SET "UpdateFlag" = NULL, "StatusFlag" = 'D', "ResolveDate" = COALESCE(c."ResolveDate", CURRENT_TIMESTAMP),
    "ResolvedBy" = COALESCE(c."ConAgencyContact", c."ConProviderName")
FROM hit WHERE c."ID" = hit."ID";

-- unit: deleted_visits_cf
UPDATE conflicts cf
SET "StatusFlag" = 'D', "ResolveDate" = COALESCE(cf."ResolveDate", CURRENT_TIMESTAMP),
    "ResolvedBy" = COALESCE(c."AgencyContact", c."ProviderName")
FROM conflictvisitmaps c JOIN _tmp_deleted_visits d ON c."VisitID" = d."VisitID"::uuid
WHERE c."CONFLICTID" = cf."CONFLICTID" AND cf."StatusFlag" <> 'D' AND c."VisitDate" BETWEEN %(ws)s AND %(we)s;

-- unit: ismissed_cascade_cf
UPDATE conflicts cf
SET "StatusFlag" = 'R', "ResolveDate" = COALESCE(cf."ResolveDate", CURRENT_TIMESTAMP),
    "ResolvedBy" = CASE WHEN c."IsMissed" THEN COALESCE(c."AgencyContact", c."ProviderName")
                        ELSE COALESCE(c."ConAgencyContact", c."ConProviderName") END
FROM conflictvisitmaps c
WHERE c."CONFLICTID" = cf."CONFLICTID" AND cf."StatusFlag" NOT IN ('R', 'D')
  AND (c."IsMissed" = TRUE OR c."ConIsMissed" = TRUE) AND c."VisitDate" BETWEEN %(ws)s AND %(we)s;

-- unit: ismissed_cascade_cvm
UPDATE conflictvisitmaps
SET "StatusFlag" = 'R', "ResolveDate" = COALESCE("ResolveDate", CURRENT_TIMESTAMP),
    "ResolvedBy" = CASE WHEN "IsMissed" THEN COALESCE("AgencyContact", "ProviderName")
                        ELSE COALESCE("ConAgencyContact", "ConProviderName") END
WHERE "VisitDate" BETWEEN %(ws)s AND %(we)s AND ("IsMissed" = TRUE OR "ConIsMissed" = TRUE)
  AND "StatusFlag" NOT IN ('R', 'D');

-- unit: updateflag_orphan_cleanup
UPDATE conflictvisitmaps
SET "UpdateFlag" = NULL,
    "StatusFlag" = CASE WHEN "StatusFlag" = 'D' THEN 'D' ELSE 'R' END,
    "ResolveDate" = COALESCE("ResolveDate", CURRENT_TIMESTAMP),
    "ResolvedBy" = CASE WHEN "StatusFlag" = 'D' THEN COALESCE("ConAgencyContact", "ConProviderName")
                        WHEN "IsMissed" THEN COALESCE("AgencyContact", "ProviderName")
                        WHEN "ConIsMissed" THEN COALESCE("ConAgencyContact", "ConProviderName")
                        ELSE COALESCE("ResolvedBy", "ConAgencyContact", "ConProviderName") END
WHERE "VisitDate" BETWEEN %(ws)s AND %(we)s AND "UpdateFlag" = 1;

-- unit: aggregation_mark_updatedrflag
UPDATE conflicts cf SET "UpdatedRFlag" = '1'
WHERE (cf."UpdatedRFlag" IS NULL OR cf."UpdatedRFlag" <> '1')
  AND EXISTS (SELECT 1 FROM conflictvisitmaps c
              WHERE c."CONFLICTID" = cf."CONFLICTID" AND c."VisitDate" BETWEEN %(ws)s AND %(we)s);

-- unit: aggregation_status_u_propagation
WITH u AS (
    SELECT DISTINCT "CONFLICTID" FROM conflictvisitmaps
    WHERE "StatusFlag" = 'U' AND "VisitDate" BETWEEN %(ws)s AND %(we)s
)
UPDATE conflicts cf SET "StatusFlag" = 'U', "UpdatedRFlag" = NULL
FROM u WHERE cf."CONFLICTID" = u."CONFLICTID" AND cf."StatusFlag" NOT IN ('D', 'I', 'W', 'U');

-- unit: cascade_resolve_cvm
WITH active_cvm AS (
    SELECT DISTINCT c."CONFLICTID"
    FROM conflictvisitmaps c JOIN conflicts cf ON cf."CONFLICTID" = c."CONFLICTID"
    WHERE c."VisitDate" BETWEEN %(ws)s AND %(we)s AND c."StatusFlag" NOT IN ('R', 'D')
      AND cf."StatusFlag" IN ('R', 'D')
), resolve_ids AS (
    SELECT c."CONFLICTID" FROM conflictvisitmaps c JOIN active_cvm a ON a."CONFLICTID" = c."CONFLICTID"
    WHERE c."VisitDate" BETWEEN %(ws)s AND %(we)s
    GROUP BY c."CONFLICTID"
    HAVING COUNT(*) - COUNT(*) FILTER (WHERE c."StatusFlag" IN ('R', 'D')) <= 1
)
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'R', "ResolveDate" = COALESCE(c."ResolveDate", CURRENT_TIMESTAMP),
    "ResolvedBy" = CASE WHEN c."IsMissed" THEN COALESCE(c."AgencyContact", c."ProviderName")
                        WHEN c."ConIsMissed" THEN COALESCE(c."ConAgencyContact", c."ConProviderName")
                        ELSE COALESCE(c."ResolvedBy", c."ConAgencyContact", c."ConProviderName") END
FROM resolve_ids r
WHERE c."CONFLICTID" = r."CONFLICTID" AND c."VisitDate" BETWEEN %(ws)s AND %(we)s
  AND c."StatusFlag" NOT IN ('R', 'D');

-- unit: cascade_resolve_cf
WITH all_cvm_rd AS (
    SELECT c."CONFLICTID"
    FROM conflictvisitmaps c JOIN conflicts cf ON cf."CONFLICTID" = c."CONFLICTID"
    WHERE cf."StatusFlag" NOT IN ('R', 'D') AND c."VisitDate" BETWEEN %(ws)s AND %(we)s
    GROUP BY c."CONFLICTID"
    HAVING bool_and(c."StatusFlag" IN ('R', 'D'))
)
UPDATE conflicts cf
SET "StatusFlag" = 'R', "ResolveDate" = COALESCE(cf."ResolveDate", CURRENT_TIMESTAMP),
    "ResolvedBy" = (
        SELECT CASE WHEN c."IsMissed" THEN COALESCE(c."AgencyContact", c."ProviderName")
                    WHEN c."ConIsMissed" THEN COALESCE(c."ConAgencyContact", c."ConProviderName")
                    ELSE COALESCE(cf."ResolvedBy", c."AgencyContact", c."ProviderName") END
        FROM conflictvisitmaps c
        WHERE c."CONFLICTID" = cf."CONFLICTID" AND c."StatusFlag" IN ('R', 'D')
          AND c."VisitDate" BETWEEN %(ws)s AND %(we)s
        LIMIT 1)
FROM all_cvm_rd a WHERE cf."CONFLICTID" = a."CONFLICTID";

-- unit: noresponse_flag_cf
UPDATE conflicts cf SET "StatusFlag" = 'N', "ResolveDate" = NULL, "ResolvedBy" = NULL
WHERE cf."NoResponseFlag" = 'Yes' AND cf."StatusFlag" IN ('U', 'W', 'I')
  AND EXISTS (SELECT 1 FROM conflictvisitmaps c
              WHERE c."CONFLICTID" = cf."CONFLICTID" AND c."VisitDate" BETWEEN %(ws)s AND %(we)s);

-- unit: noresponse_flag_cvm
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
UPDATE conflictvisitmaps SET "StatusFlag" = 'N', "ResolveDate" = NULL, "ResolvedBy" = NULL
WHERE "VisitDate" BETWEEN %(ws)s AND %(we)s AND "ConNoResponseFlag" = 'Yes' AND "StatusFlag" NOT IN ('R', 'D')
  AND ("StatusFlag" <> 'N' OR "ResolveDate" IS NOT NULL OR "ResolvedBy" IS NOT NULL);

-- unit: computed_time_columns
UPDATE conflictvisitmaps
SET "ShVTSTTime" = COALESCE("VisitStartTime", "SchStartTime", "InserviceStartDate"),
    "ShVTENTime" = COALESCE("VisitEndTime", "SchEndTime", "InserviceEndDate"),
    "CShVTSTTime" = COALESCE("ConVisitStartTime", "ConSchStartTime", "ConInserviceStartDate"),
    "CShVTENTime" = COALESCE("ConVisitEndTime", "ConSchEndTime", "ConInserviceEndDate")
WHERE "VisitDate" BETWEEN %(ws)s AND %(we)s
  AND ("ShVTSTTime" IS DISTINCT FROM COALESCE("VisitStartTime", "SchStartTime", "InserviceStartDate")
    OR "ShVTENTime" IS DISTINCT FROM COALESCE("VisitEndTime", "SchEndTime", "InserviceEndDate")
    OR "CShVTSTTime" IS DISTINCT FROM COALESCE("ConVisitStartTime", "ConSchStartTime", "ConInserviceStartDate")
    OR "CShVTENTime" IS DISTINCT FROM COALESCE("ConVisitEndTime", "ConSchEndTime", "ConInserviceEndDate"));

-- unit: computed_billed_rate
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
WITH r AS (
    SELECT "ID",
        CASE WHEN "Billed" = 'yes' AND "RateType" = 'Hourly' AND "BillRateBoth" > 0 THEN "BillRateBoth" / 60.0
             WHEN "Billed" = 'yes' AND "RateType" IN ('Daily', 'Visit') AND "BillRateBoth" > 0 AND "BilledHours" > 0
                 THEN ("BillRateBoth" / "BilledHours") / 60.0
             WHEN "Billed" <> 'yes' AND "RateType" = 'Hourly' AND "BillRateBoth" > 0 THEN "BillRateBoth" / 60.0
             WHEN "Billed" <> 'yes' AND "RateType" IN ('Daily', 'Visit') AND "BillRateBoth" > 0
                  AND "SchStartTime" IS NOT NULL AND "SchEndTime" IS NOT NULL AND "SchStartTime" <> "SchEndTime"
                 THEN ("BillRateBoth" / (EXTRACT(EPOCH FROM ("SchEndTime" - "SchStartTime")) / 3600.0)) / 60.0
             ELSE 0 END AS brm,
        CASE WHEN "ConBilled" = 'yes' AND "ConRateType" = 'Hourly' AND "ConBillRateBoth" > 0
                 THEN "ConBillRateBoth" / 60.0
             WHEN "ConBilled" = 'yes' AND "ConRateType" IN ('Daily', 'Visit') AND "ConBillRateBoth" > 0
                  AND "ConBilledHours" > 0 THEN ("ConBillRateBoth" / "ConBilledHours") / 60.0
             WHEN "ConBilled" <> 'yes' AND "ConRateType" = 'Hourly' AND "ConBillRateBoth" > 0
                 THEN "ConBillRateBoth" / 60.0
             WHEN "ConBilled" <> 'yes' AND "ConRateType" IN ('Daily', 'Visit') AND "ConBillRateBoth" > 0
                  AND "ConSchStartTime" IS NOT NULL AND "ConSchEndTime" IS NOT NULL
                  AND "ConSchStartTime" <> "ConSchEndTime"
                 THEN ("ConBillRateBoth" / (EXTRACT(EPOCH FROM ("ConSchEndTime" - "ConSchStartTime")) / 3600.0)) / 60.0
             ELSE 0 END AS cbrm
    FROM conflictvisitmaps WHERE "VisitDate" BETWEEN %(ws)s AND %(we)s
)
UPDATE conflictvisitmaps c SET "BilledRateMinute" = r.brm::real, "ConBilledRateMinute" = r.cbrm::real
FROM r
WHERE c."ID" = r."ID"
  AND (COALESCE(ABS(c."BilledRateMinute" - r.brm), 1) > 0.0001
    OR COALESCE(ABS(c."ConBilledRateMinute" - r.cbrm), 1) > 0.0001);

-- unit: computed_reverse_uuid
UPDATE conflictvisitmaps
SET "ReverseUUID" = LEAST(CONCAT("VisitID"::text, '~', "AppVisitID"), CONCAT("ConVisitID"::text, '~', "ConAppVisitID"))
    || '_' || GREATEST(CONCAT("VisitID"::text, '~', "AppVisitID"), CONCAT("ConVisitID"::text, '~', "ConAppVisitID"))
WHERE "ReverseUUID" IS NULL AND "VisitID" IS NOT NULL AND "AppVisitID" IS NOT NULL
  AND "ConVisitID" IS NOT NULL AND "ConAppVisitID" IS NOT NULL AND "VisitDate" BETWEEN %(ws)s AND %(we)s;
