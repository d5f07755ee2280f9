-- Conflict pairs of one chunk (docs/architecture.md, "Inside a detect chunk"): base visits of the
-- chunk's delta groups (the rows of VC_SCOPE_ROW, common/create_scope_row.sql) with their dimension rows ->
-- self-join of every group in both orientations (D4) -> the seven rules (D5-D7) -> at least one flag
-- 'Y' -> cross-state filter (docs/pipeline.md, "Detection rules"). Output: one row per ordered
-- pair key (D8), named exactly as the conflictvisitmaps columns (CONFLICTID is assigned on the
-- PostgreSQL side). Run parameters are bound literals (D1); reference data comes from the session
-- tables VC_EXCLUDED_PROVIDER, VC_MPH_BAND and VC_DISTANCE_SETTING. Source TIMESTAMP_TZ values become
-- wall-clock TIMESTAMP_NTZ in the business time zone (time_zone), and the rules compare those.
-- Time zones, the same on Snowflake and on the emulation: every 2-argument CONVERT_TIMEZONE takes an
-- explicit CAST(... AS TIMESTAMP_TZ), so its input keeps its own offset (a view that delivered NTZ
-- values would be read in the session zone, UTC, instead of being converted in opposite directions by
-- the two engines); a TIMESTAMP_TZ becomes a DATE or an NTZ only through CONVERT_TIMEZONE (a plain cast
-- keeps the value's own offset on Snowflake but uses UTC on the emulation); and a TIMESTAMP_TZ is only
-- compared with TIMESTAMP_TZ values (tests/unit/test_snowflake_sql.py checks all three).
--
-- Written in the subset of Snowflake SQL that the local emulation also runs: no geo functions (the
-- great-circle distance is plain trigonometry), no engine-specific parsing functions.
WITH provider AS (
    -- @include snowflake/common/provider_rows.sql
),
scope_visit AS (
    -- Every usable visit of the chunk's groups, delta or not (D4). The group's rows were found with
    -- cheap predicates (VC_SCOPE_ROW); the checks below run on those rows only. Unusable rows are
    -- skipped here and counted once per run by plan (plan/count_skipped_rows.sql, D23). D8: one row
    -- per visit id (latest update first).
    SELECT
        -- @include snowflake/common/scope_visit_columns.sql
    FROM VC_SCOPE_ROW cr
    JOIN VC_SCOPE_CAREGIVER cg ON cg.caregiver_id = cr."Caregiver Id"
    JOIN provider p ON p.provider_id = cr."Provider Id"
    WHERE LOWER(cr."Provider Id") NOT IN (SELECT provider_id FROM VC_EXCLUDED_PROVIDER)
      AND REGEXP_LIKE(cr."Visit Id", %(uuid_pattern)s)
      AND REGEXP_LIKE(TRIM(CAST(cr."Application Visit Id" AS VARCHAR)), %(app_id_pattern)s)
      AND REGEXP_LIKE(cr."Provider Id", %(uuid_pattern)s)
      AND NOT COALESCE(cr."Scheduled End Time" < cr."Scheduled Start Time", FALSE)
      AND NOT COALESCE(cr."Visit End Time" < cr."Visit Start Time", FALSE)
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY LOWER(cr."Visit Id")
        ORDER BY cr."Visit Updated Timestamp" DESC NULLS LAST, cr."Application Visit Id" NULLS LAST,
            cr."Provider Id", cr."Scheduled Start Time" NULLS LAST, cr."Scheduled End Time" NULLS LAST,
            cr."Visit Start Time" NULLS LAST, cr."Visit End Time" NULLS LAST
    ) = 1
),
-- @include snowflake/common/visit_attributes.sql
,
pair AS (
    -- D4: every ordered pair of a group whose providers differ, in both orientations.
    SELECT
        v1."VisitID" AS visit_id,
        v2."VisitID" AS con_visit_id,
        v1."SchStartTime" AS ss1, v1."SchEndTime" AS se1,
        v1."VisitStartTime" AS vs1, v1."VisitEndTime" AS ve1,
        v2."SchStartTime" AS ss2, v2."SchEndTime" AS se2,
        v2."VisitStartTime" AS vs2, v2."VisitEndTime" AS ve2,
        v1."PLatitude" AS lat1, v1."PLongitude" AS lon1,
        v2."PLatitude" AS lat2, v2."PLongitude" AS lon2,
        v1.p_final_state AS p_final1, v1.pa_final_state AS pa_final1,
        v2.p_final_state AS p_final2, v2.pa_final_state AS pa_final2
    FROM base_visit v1
    JOIN base_visit v2
      ON v2."VisitDate" = v1."VisitDate"
     AND v2."SSN" = v1."SSN"
     AND v2."ProviderID" <> v1."ProviderID"
     AND v2."VisitID" <> v1."VisitID"
),
pair_state AS (
    -- Visit states: unstarted = no actual times, completed = both actual times.
    SELECT
        p.*,
        (p.vs1 IS NULL AND p.ve1 IS NULL) AS unstarted1,
        (p.vs1 IS NOT NULL AND p.ve1 IS NOT NULL) AS completed1,
        (p.vs2 IS NULL AND p.ve2 IS NULL) AS unstarted2,
        (p.vs2 IS NOT NULL AND p.ve2 IS NOT NULL) AS completed2,
        SIN((RADIANS(p.lat2) - RADIANS(p.lat1)) / 2) AS half_dlat_sin,
        SIN((RADIANS(p.lon2) - RADIANS(p.lon1)) / 2) AS half_dlon_sin,
        COS(RADIANS(p.lat1)) AS lat1_cos,
        COS(RADIANS(p.lat2)) AS lat2_cos
    FROM pair p
),
pair_metric AS (
    -- D7: great-circle miles on a sphere of radius 6,371,008.8 m (haversine in plain arithmetic),
    -- times the distance multiplier, rounded to 2 decimals; the minute gap between the end of the
    -- earlier completed visit and the start of the later one (0 when the actual intervals overlap).
    SELECT
        ps.*,
        CASE
            WHEN ps.lat1 IS NOT NULL AND ps.lon1 IS NOT NULL AND ps.lat2 IS NOT NULL AND ps.lon2 IS NOT NULL
            THEN ROUND(
                2 * 6371008.8 * ASIN(LEAST(1, SQRT(
                    ps.half_dlat_sin * ps.half_dlat_sin
                    + ps.lat1_cos * ps.lat2_cos * ps.half_dlon_sin * ps.half_dlon_sin
                ))) / 1609.344 * ds.extra_distance_per,
                2
            )
        END AS distance_miles,
        CASE
            WHEN ps.completed1 AND ps.completed2 THEN
                CASE
                    WHEN ps.ve1 <= ps.vs2 THEN FLOOR(DATEDIFF(second, ps.ve1, ps.vs2) / 60)
                    WHEN ps.ve2 <= ps.vs1 THEN FLOOR(DATEDIFF(second, ps.ve2, ps.vs1) / 60)
                    ELSE 0
                END
        END AS minute_gap
    FROM pair_state ps
    CROSS JOIN VC_DISTANCE_SETTING ds
),
pair_speed AS (
    -- D7: bands are [lo, hi), the first matching band by rank wins, the last band also covers every
    -- longer distance. A pair without a band (or without a distance) keeps a NULL speed.
    SELECT pm.*, b.mph
    FROM pair_metric pm
    LEFT JOIN VC_MPH_BAND b
      ON (b.lo <= pm.distance_miles AND pm.distance_miles < b.hi)
      OR (b.is_last AND pm.distance_miles >= b.hi)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY pm.visit_id, pm.con_visit_id ORDER BY b.band_rank) = 1
),
pair_flag AS (
    -- Rules 1-7 (D5: strict overlap, NULL means 'N', per orientation).
    SELECT
        sp.visit_id,
        sp.con_visit_id,
        sp.minute_gap,
        CAST(sp.distance_miles AS DOUBLE) AS distance_miles,
        CAST(sp.mph AS DOUBLE) AS mph,
        CAST(ROUND(sp.distance_miles / NULLIF(sp.mph, 0) * 60, 2) AS DOUBLE) AS eta_minutes,
        sp.p_final1, sp.pa_final1, sp.p_final2, sp.pa_final2,
        CASE WHEN sp.unstarted1 AND sp.unstarted2 AND sp.ss1 = sp.ss2 AND sp.se1 = sp.se2
            THEN 'Y' ELSE 'N' END AS "SameSchTimeFlag",
        CASE WHEN sp.completed1 AND sp.completed2 AND sp.vs1 = sp.vs2 AND sp.ve1 = sp.ve2
            THEN 'Y' ELSE 'N' END AS "SameVisitTimeFlag",
        CASE WHEN sp.unstarted1 AND sp.completed2 AND sp.ss1 = sp.vs2 AND sp.se1 = sp.ve2
            THEN 'Y' ELSE 'N' END AS "SchAndVisitTimeSameFlag",
        CASE WHEN sp.unstarted1 AND sp.unstarted2 AND sp.ss1 < sp.se2 AND sp.se1 > sp.ss2
                AND NOT (sp.ss1 = sp.ss2 AND sp.se1 = sp.se2)
            THEN 'Y' ELSE 'N' END AS "SchOverAnotherSchTimeFlag",
        CASE WHEN sp.completed1 AND sp.completed2 AND sp.vs1 < sp.ve2 AND sp.ve1 > sp.vs2
                AND NOT (sp.vs1 = sp.vs2 AND sp.ve1 = sp.ve2)
            THEN 'Y' ELSE 'N' END AS "VisitTimeOverAnotherVisitTimeFlag",
        CASE WHEN sp.unstarted1 AND sp.completed2 AND sp.ss1 < sp.ve2 AND sp.se1 > sp.vs2
                AND NOT (sp.ss1 = sp.vs2 AND sp.se1 = sp.ve2)
            THEN 'Y' ELSE 'N' END AS "SchTimeOverVisitTimeFlag",
        CASE WHEN sp.completed1 AND sp.completed2
                AND sp.lat1 IS NOT NULL AND sp.lon1 IS NOT NULL AND sp.lat2 IS NOT NULL AND sp.lon2 IS NOT NULL
                AND sp.minute_gap > 0
                AND ROUND(sp.distance_miles / NULLIF(sp.mph, 0) * 60, 2) > sp.minute_gap
            THEN 'Y' ELSE 'N' END AS "DistanceFlag"
    FROM pair_speed sp
)
SELECT
    -- @include snowflake/common/pair_columns.sql
FROM pair_flag f
JOIN base_visit v1 ON v1."VisitID" = f.visit_id
JOIN base_visit v2 ON v2."VisitID" = f.con_visit_id
WHERE (
        f."SameSchTimeFlag" = 'Y' OR f."SameVisitTimeFlag" = 'Y' OR f."SchAndVisitTimeSameFlag" = 'Y'
        OR f."SchOverAnotherSchTimeFlag" = 'Y' OR f."VisitTimeOverAnotherVisitTimeFlag" = 'Y'
        OR f."SchTimeOverVisitTimeFlag" = 'Y' OR f."DistanceFlag" = 'Y'
    )
  -- Cross-state filter: keep when a side has no state or any state matches.
  AND (
        COALESCE(f.p_final1, f.pa_final1) IS NULL
        OR COALESCE(f.p_final2, f.pa_final2) IS NULL
        OR f.p_final1 = f.p_final2 OR f.p_final1 = f.pa_final2
        OR f.pa_final1 = f.p_final2 OR f.pa_final1 = f.pa_final2
    )
