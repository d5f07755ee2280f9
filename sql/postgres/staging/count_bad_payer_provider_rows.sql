-- D23: source rows of the PPR sync that cannot be used, per reason (one reason per row, in this order):
-- invalid_payer_id, invalid_provider_id (not a uuid). Also counted, not skipped: duplicate_keys (extra
-- rows of a pair, D8 keeps one), names_truncated (a name longer than its column is cut, not dropped),
-- app_id_not_numeric (stored as NULL).
WITH checked AS (
    SELECT
        CASE
            WHEN payer_id IS NULL OR payer_id !~ %(uuid_pattern)s
                THEN 'invalid_payer_id'
            WHEN provider_id IS NULL OR provider_id !~ %(uuid_pattern)s
                THEN 'invalid_provider_id'
        END AS reason,
        lower(payer_id) AS payer_id,
        lower(provider_id) AS provider_id,
        length(contract) > 255 OR length(provider_name) > 100 AS truncated,
        (app_payer_id IS NOT NULL AND app_payer_id !~ '^\s*[0-9]{1,18}\s*$')
            OR (app_provider_id IS NOT NULL AND app_provider_id !~ '^\s*[0-9]{1,18}\s*$') AS not_numeric
    FROM _ppr_source
)
SELECT 'invalid_payer_id', count(*) FILTER (WHERE reason = 'invalid_payer_id') FROM checked
UNION ALL
SELECT 'invalid_provider_id', count(*) FILTER (WHERE reason = 'invalid_provider_id') FROM checked
UNION ALL
SELECT 'duplicate_keys', count(*) - count(DISTINCT (payer_id, provider_id)) FROM checked WHERE reason IS NULL
UNION ALL
SELECT 'names_truncated', count(*) FILTER (WHERE truncated) FROM checked WHERE reason IS NULL
UNION ALL
SELECT 'app_id_not_numeric', count(*) FILTER (WHERE not_numeric) FROM checked WHERE reason IS NULL
