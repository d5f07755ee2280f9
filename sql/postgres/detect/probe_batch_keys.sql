-- Which keys of the batch are stored already (any kind: the unique index is global), found through the
-- unique index, whose INCLUDE columns answer the probe without reading the table (migration 0030).
-- A stored pair of the writer's kind is "certainly unchanged" when its fingerprint is the incoming
-- row's (the pair as last received, migration 0030), it is open (a resolved pair reopens, D11) and has a
-- conflict id (D10 gives one otherwise), and the columns users may fill arrive NULL (D11 keeps the
-- stored values then): such a pair needs no compare.
-- The probe is a plain SELECT: as the FROM of an UPDATE, conflictvisitmaps would need its row ids (for
-- rechecks under concurrent updates), which an index-only scan cannot give. The stored keys are then
-- marked for mark_new_pairs.sql from the probe's result.
-- Returns one row: the batch row numbers of the stored pairs of the writer's kind to compare in full
-- (all of them when %(trust_fingerprint)s is false), how many were certainly unchanged, and how many
-- keys were stored.
WITH probed AS (
    SELECT k.rn,
        {owned} AS owned,
        COALESCE(
            %(trust_fingerprint)s
            AND t."PairFingerprint" = k.fingerprint
            AND t."StatusFlag" IS DISTINCT FROM 'R'
            AND t."CONFLICTID" IS NOT NULL
            AND k.kept_null,
            false
        ) AS unchanged
    FROM {batch_keys} k
    JOIN conflictvisitmaps t ON t."VisitID" = k."VisitID" AND t."ConVisitID" = k."ConVisitID"
),
marked AS (
    UPDATE {batch_keys} k
    SET stored = true
    FROM probed p
    WHERE k.rn = p.rn
)
SELECT array_agg(rn ORDER BY rn) FILTER (WHERE owned AND NOT unchanged),
       count(*) FILTER (WHERE owned AND unchanged),
       count(*)
FROM probed
