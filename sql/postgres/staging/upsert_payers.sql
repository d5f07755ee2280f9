-- `payers` (migration 0003) from DIMPAYER: one row per payer id (D8: an active, non-demo row first,
-- then by name), inserted or updated by "PayerID" only when a column differs ("UpdatedDate" = the run's
-- time when written). Payers gone from the source are kept. Returns TRUE per insert, FALSE per update.
WITH usable AS (
    SELECT
        lower(payer_id)::uuid AS payer_id,
        CASE WHEN app_payer_id ~ '^\s*[0-9]{1,18}\s*$' THEN trim(app_payer_id)::int8 END AS app_payer_id,
        left(payer_name, 255) AS payer_name,
        is_active,
        is_demo
    FROM _payer_source
    WHERE payer_id ~ %(uuid_pattern)s
),
chosen AS (
    SELECT DISTINCT ON (payer_id) *
    FROM usable
    ORDER BY payer_id, is_active DESC NULLS LAST, is_demo NULLS LAST, payer_name COLLATE "C" NULLS LAST,
             app_payer_id NULLS LAST
)
INSERT INTO payers AS p ("PayerID", "AppPayerID", "PayerName", "IsActive", "IsDemo", "UpdatedDate")
SELECT payer_id, app_payer_id, payer_name, is_active, is_demo, %(now)s
FROM chosen
ON CONFLICT ("PayerID") DO UPDATE
SET "AppPayerID" = EXCLUDED."AppPayerID",
    "PayerName" = EXCLUDED."PayerName",
    "IsActive" = EXCLUDED."IsActive",
    "IsDemo" = EXCLUDED."IsDemo",
    "UpdatedDate" = EXCLUDED."UpdatedDate"
WHERE (p."AppPayerID", p."PayerName", p."IsActive", p."IsDemo")
      IS DISTINCT FROM (EXCLUDED."AppPayerID", EXCLUDED."PayerName", EXCLUDED."IsActive", EXCLUDED."IsDemo")
RETURNING (xmax = 0) AS inserted
