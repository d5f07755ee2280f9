-- Payers for the PostgreSQL `payers` table (migration 0003), the active/demo source of the payer
-- materialized view: every DIMPAYER row. DIMPAYER has no application id column in the source views,
-- so "AppPayerID" is the payer's smallest numeric "Application Payer Id" in
-- DIMPAYERPROVIDER (NULL when it has none; numeric = the bound app_id_pattern, as for every id). Ids
-- are returned as text and validated in PostgreSQL (D23).
WITH app_payer AS (
    SELECT
        "Payer Id" AS payer_id,
        MIN(
            IFF(
                REGEXP_LIKE(TRIM("Application Payer Id"), %(app_id_pattern)s),
                TRY_CAST(TRIM("Application Payer Id") AS BIGINT),
                NULL
            )
        ) AS app_payer_id
    FROM DIMPAYERPROVIDER
    GROUP BY "Payer Id"
)
SELECT
    dpa."Payer Id" AS payer_id,
    CAST(ap.app_payer_id AS VARCHAR) AS app_payer_id,
    dpa."Payer Name" AS payer_name,
    dpa."Is Active" AS is_active,
    dpa."Is Demo" AS is_demo
FROM DIMPAYER dpa
LEFT JOIN app_payer ap ON ap.payer_id = dpa."Payer Id"
