-- D23: DIMPAYER rows the payers sync cannot use (invalid_payer_id: not a uuid), and, counted but kept,
-- duplicate_keys (extra rows of one payer id; D8 keeps one).
SELECT 'invalid_payer_id', count(*)
FROM _payer_source
WHERE payer_id IS NULL OR payer_id !~ %(uuid_pattern)s
UNION ALL
SELECT 'duplicate_keys', count(*) - count(DISTINCT lower(payer_id))
FROM _payer_source
WHERE payer_id ~ %(uuid_pattern)s
