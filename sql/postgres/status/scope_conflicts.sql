-- Delta scope, step 2 (D16): the conflicts of the seed pairs, plus the conflicts users changed since the
-- watermark (resolution, primary agency's no-response, review flag) and those whose UpdatedRFlag
-- aggregation_mark_updatedrflag may still have to set (the predicate of idx_cf_updatedrflag_unmarked),
-- with the conflict's own facts: resolved or deleted, UpdatedRFlag not '1', no response.
INSERT INTO _status_scope_conflict ("CONFLICTID", closed, unmarked, no_response)
SELECT k."CONFLICTID",
       COALESCE(f."StatusFlag" IN ('R', 'D'), FALSE),
       f."UpdatedRFlag" IS DISTINCT FROM '1',
       COALESCE(f."NoResponseFlag" = 'Yes', FALSE)
FROM (
    SELECT "CONFLICTID" FROM _status_scope_seed WHERE "CONFLICTID" IS NOT NULL
    UNION
    SELECT f."CONFLICTID" FROM conflicts f WHERE f."ResolveDate" >= %(cutoff)s
    UNION
    SELECT f."CONFLICTID" FROM conflicts f WHERE f."NoResponseDate" >= %(cutoff)s
    UNION
    SELECT f."CONFLICTID" FROM conflicts f WHERE f."FlagForReviewDate" >= %(cutoff)s
    UNION
    SELECT f."CONFLICTID" FROM conflicts f
    WHERE (f."UpdatedRFlag" IS NULL AND f."StatusFlag" IS DISTINCT FROM 'U') OR f."UpdatedRFlag" <> '1'
) k
LEFT JOIN conflicts f ON f."CONFLICTID" = k."CONFLICTID"
