-- PPR sync (legacy reminder sync with D17, D8, D23): one row per (PayerID, ProviderID) among the
-- usable source rows (uuid ids), chosen deterministically; new pairs are inserted ("CreatedDateTime" =
-- the run's time, "NumberOfDays" NULL); existing pairs get "Contract"/"ProviderName" only when they
-- differ (legacy never refreshes the application ids). The unique index
-- idx_ppr_payerid_providerid_unique arbitrates, so no duplicate can arise. Names longer than their
-- column are cut; non-numeric application ids are stored as NULL. Pairs gone from the source are kept.
-- Returns one row per written pair: TRUE when inserted, FALSE when updated.
WITH usable AS (
    SELECT
        lower(payer_id)::uuid AS payer_id,
        CASE WHEN app_payer_id ~ '^\s*[0-9]{1,18}\s*$' THEN trim(app_payer_id)::int8 END AS app_payer_id,
        left(contract, 255) AS contract,
        lower(provider_id)::uuid AS provider_id,
        CASE WHEN app_provider_id ~ '^\s*[0-9]{1,18}\s*$' THEN trim(app_provider_id)::int8 END AS app_provider_id,
        left(provider_name, 100) AS provider_name
    FROM _ppr_source
    WHERE payer_id ~ %(uuid_pattern)s
      AND provider_id ~ %(uuid_pattern)s
),
chosen AS (
    SELECT DISTINCT ON (payer_id, provider_id) *
    FROM usable
    ORDER BY payer_id, provider_id, app_payer_id NULLS LAST, app_provider_id NULLS LAST,
             contract COLLATE "C" NULLS LAST, provider_name COLLATE "C" NULLS LAST
)
INSERT INTO payer_provider_reminders AS r
    ("PayerID", "AppPayerID", "Contract", "ProviderID", "AppProviderID", "ProviderName", "CreatedDateTime",
     "NumberOfDays")
SELECT payer_id, app_payer_id, contract, provider_id, app_provider_id, provider_name, %(now)s, NULL
FROM chosen
ON CONFLICT ("PayerID", "ProviderID") DO UPDATE
SET "Contract" = EXCLUDED."Contract",
    "ProviderName" = EXCLUDED."ProviderName"
WHERE (r."Contract", r."ProviderName") IS DISTINCT FROM (EXCLUDED."Contract", EXCLUDED."ProviderName")
RETURNING (xmax = 0) AS inserted
