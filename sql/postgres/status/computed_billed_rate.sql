-- C-13 computed_billed_rate: the billed rate per minute of each side of a pair inside the window
-- (docs/pipeline.md, status phases), first matching branch:
--   billed 'yes', Hourly, rate > 0                        -> rate / 60
--   billed 'yes', Daily or Visit, rate > 0, hours > 0     -> (rate / BilledHours) / 60
--   billed not 'yes' (NULL excluded), Hourly, rate > 0    -> rate / 60
--   billed not 'yes', Daily or Visit, rate > 0, schedule start and end known and different
--                                                         -> (rate / exact scheduled hours) / 60
--   anything else                                         -> 0
-- rate = BillRateBoth; exact scheduled hours = epoch seconds of (end - start) / 3600 (D15). Computed in
-- float8, stored as real; a row is written when either stored value is NULL or differs by more than
-- 0.0001 (an exact comparison would always see the float4 rounding).
-- The pair writers compute the same values on the rows they write (visit_conflicts/store/computed.py), so
-- this unit normally finds nothing to change on them: a rule changed here must change there too
-- (tests/integration/test_computed_columns.py compares the two).
WITH computed AS (
    SELECT c."ID",
           c."BilledRateMinute" AS stored,
           c."ConBilledRateMinute" AS con_stored,
           CASE
               WHEN c."Billed" = 'yes' AND c."RateType" = 'Hourly' AND c."BillRateBoth" > 0
                   THEN c."BillRateBoth"::float8 / 60.0::float8
               WHEN c."Billed" = 'yes' AND c."RateType" IN ('Daily', 'Visit') AND c."BillRateBoth" > 0
                    AND c."BilledHours" > 0
                   THEN (c."BillRateBoth"::float8 / c."BilledHours"::float8) / 60.0::float8
               WHEN c."Billed" <> 'yes' AND c."RateType" = 'Hourly' AND c."BillRateBoth" > 0
                   THEN c."BillRateBoth"::float8 / 60.0::float8
               WHEN c."Billed" <> 'yes' AND c."RateType" IN ('Daily', 'Visit') AND c."BillRateBoth" > 0
                    AND c."SchStartTime" IS NOT NULL AND c."SchEndTime" IS NOT NULL
                    AND c."SchStartTime" <> c."SchEndTime"
                   THEN (c."BillRateBoth"::float8
                         / (EXTRACT(EPOCH FROM (c."SchEndTime" - c."SchStartTime"))::float8 / 3600.0::float8))
                        / 60.0::float8
               ELSE 0.0::float8
           END AS rate,
           CASE
               WHEN c."ConBilled" = 'yes' AND c."ConRateType" = 'Hourly' AND c."ConBillRateBoth" > 0
                   THEN c."ConBillRateBoth"::float8 / 60.0::float8
               WHEN c."ConBilled" = 'yes' AND c."ConRateType" IN ('Daily', 'Visit') AND c."ConBillRateBoth" > 0
                    AND c."ConBilledHours" > 0
                   THEN (c."ConBillRateBoth"::float8 / c."ConBilledHours"::float8) / 60.0::float8
               WHEN c."ConBilled" <> 'yes' AND c."ConRateType" = 'Hourly' AND c."ConBillRateBoth" > 0
                   THEN c."ConBillRateBoth"::float8 / 60.0::float8
               WHEN c."ConBilled" <> 'yes' AND c."ConRateType" IN ('Daily', 'Visit') AND c."ConBillRateBoth" > 0
                    AND c."ConSchStartTime" IS NOT NULL AND c."ConSchEndTime" IS NOT NULL
                    AND c."ConSchStartTime" <> c."ConSchEndTime"
                   THEN (c."ConBillRateBoth"::float8
                         / (EXTRACT(EPOCH FROM (c."ConSchEndTime" - c."ConSchStartTime"))::float8 / 3600.0::float8))
                        / 60.0::float8
               ELSE 0.0::float8
           END AS con_rate
    FROM conflictvisitmaps c
    WHERE c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
      AND {row_scope}
),
changed AS (
    SELECT "ID", rate, con_rate
    FROM computed
    WHERE COALESCE(abs(stored - rate), 1) > 0.0001
       OR COALESCE(abs(con_stored - con_rate), 1) > 0.0001
)
UPDATE conflictvisitmaps t
SET "BilledRateMinute" = changed.rate::real,
    "ConBilledRateMinute" = changed.con_rate::real
FROM changed
WHERE t."ID" = changed."ID"
