-- `visit-conflicts explain`: the parent conflicts rows of the given CONFLICTIDs, with the number of
-- pairs each has and how many of them are still open (not R or D).
SELECT
    cf."CONFLICTID", cf."StatusFlag", cf."CreatedDate", cf."ResolveDate", cf."ResolvedBy",
    cf."UpdatedRFlag", cf."NoResponseFlag",
    count(cvm."ID") AS pairs,
    count(cvm."ID") FILTER (WHERE cvm."StatusFlag" NOT IN ('R', 'D')) AS open_pairs
FROM conflicts cf
LEFT JOIN conflictvisitmaps cvm ON cvm."CONFLICTID" = cf."CONFLICTID"
WHERE cf."CONFLICTID" = ANY(%(conflict_ids)s::int8[])
GROUP BY cf."CONFLICTID"
ORDER BY cf."CONFLICTID"
