-- D10: a new pair takes the CONFLICTID of an existing CVM row with the same VisitID (the smallest, so
-- the choice is deterministic); CRDATEUNIQUE will be the earliest CreatedDate of that conflict's rows.
WITH inherited AS (
    SELECT c."VisitID", min(c."CONFLICTID") AS conflict_id
    FROM conflictvisitmaps c
    WHERE c."VisitID" IN (SELECT "VisitID" FROM {new_pairs}) AND c."CONFLICTID" IS NOT NULL
    GROUP BY c."VisitID"
),
first_created AS (
    SELECT c."CONFLICTID" AS conflict_id, min(COALESCE(c."CRDATEUNIQUE", c."CreatedDate")) AS created
    FROM conflictvisitmaps c
    WHERE c."CONFLICTID" IN (SELECT conflict_id FROM inherited)
    GROUP BY c."CONFLICTID"
)
UPDATE {new_pairs} k
SET conflict_id = h.conflict_id, first_created = fc.created
FROM inherited h
LEFT JOIN first_created fc ON fc.conflict_id = h.conflict_id
WHERE k."VisitID" = h."VisitID"
