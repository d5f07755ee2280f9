-- D10: insert the pairs that do not exist yet. Each gets StatusFlag 'N', the writer kind's InServiceFlag
-- ('N' regular, 'Y' InService, D14), PTOFlag 'N' and the CONFLICTID of an existing CVM row with the
-- same VisitID, else a new parent `conflicts` row (one per primary visit) created in the same statement.
-- CRDATEUNIQUE = earliest CreatedDate of the conflict's rows.
-- Returns (pairs inserted, parent conflicts created).
WITH new AS (
    SELECT i.*
    FROM {incoming} i
    WHERE NOT EXISTS (
        SELECT 1 FROM conflictvisitmaps c
        WHERE c."VisitID" = i."VisitID" AND c."ConVisitID" = i."ConVisitID"
    )
),
inherited AS (
    SELECT c."VisitID", min(c."CONFLICTID") AS conflict_id
    FROM conflictvisitmaps c
    WHERE c."VisitID" IN (SELECT "VisitID" FROM new) AND c."CONFLICTID" IS NOT NULL
    GROUP BY c."VisitID"
),
first_created AS (
    SELECT c."CONFLICTID" AS conflict_id, min(COALESCE(c."CRDATEUNIQUE", c."CreatedDate")) AS created
    FROM conflictvisitmaps c
    WHERE c."CONFLICTID" IN (SELECT conflict_id FROM inherited)
    GROUP BY c."CONFLICTID"
),
fresh AS (
    SELECT v."VisitID", nextval(pg_get_serial_sequence('conflicts', 'CONFLICTID')) AS conflict_id
    FROM (SELECT DISTINCT "VisitID" FROM new) v
    WHERE NOT EXISTS (SELECT 1 FROM inherited h WHERE h."VisitID" = v."VisitID")
),
parents AS (
    INSERT INTO conflicts ("CONFLICTID", "StatusFlag", "CreatedDate")
    SELECT conflict_id, 'N', %(now)s FROM fresh
    RETURNING 1
),
inserted AS (
    INSERT INTO conflictvisitmaps ({columns}, "CONFLICTID", "StatusFlag", "InServiceFlag", "PTOFlag",
                                   "CreatedDate", "CRDATEUNIQUE")
    SELECT {n_columns},
           COALESCE(h.conflict_id, f.conflict_id),
           'N', {in_service_flag}, 'N',
           %(now)s,
           COALESCE(LEAST(fc.created, %(now)s), %(now)s)
    FROM new n
    LEFT JOIN inherited h ON h."VisitID" = n."VisitID"
    LEFT JOIN fresh f ON f."VisitID" = n."VisitID"
    LEFT JOIN first_created fc ON fc.conflict_id = h.conflict_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM parents)
