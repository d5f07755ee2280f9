-- D10 for existing rows: a pair of this batch that is already stored but has no CONFLICTID gets one, as
-- an insert would: the CONFLICTID of another CVM row with the same VisitID, else a new parent
-- `conflicts` row (StatusFlag 'N', one per primary visit) created in the same statement.
-- CRDATEUNIQUE = the earliest CreatedDate of the conflict's rows. Used for InService pairs (D14): the
-- legacy InService update set CONFLICTID to NULL on every run, so migrated InService rows have none,
-- and a NULL CONFLICTID hides a row from staging and the status cascades.
-- Each new parent is recorded in the conflict history (migration 0035: pair columns NULL).
-- Returns (rows given a conflict id, parent conflicts created).
WITH orphan AS (
    SELECT t."ID", t."VisitID", t."CreatedDate"
    FROM {incoming} s
    JOIN conflictvisitmaps t ON t."VisitID" = s."VisitID" AND t."ConVisitID" = s."ConVisitID"
    WHERE t."CONFLICTID" IS NULL
      AND {owned}
),
inherited AS (
    SELECT c."VisitID", min(c."CONFLICTID") AS conflict_id
    FROM conflictvisitmaps c
    WHERE c."VisitID" IN (SELECT "VisitID" FROM orphan) AND c."CONFLICTID" IS NOT NULL
    GROUP BY c."VisitID"
),
first_created AS (
    SELECT c."CONFLICTID" AS conflict_id, min(COALESCE(c."CRDATEUNIQUE", c."CreatedDate")) AS created
    FROM conflictvisitmaps c
    WHERE c."CONFLICTID" IN (SELECT conflict_id FROM inherited)
    GROUP BY c."CONFLICTID"
),
orphan_created AS (
    SELECT "VisitID", min("CreatedDate") AS created FROM orphan GROUP BY "VisitID"
),
fresh AS (
    SELECT v."VisitID", nextval(pg_get_serial_sequence('conflicts', 'CONFLICTID')) AS conflict_id
    FROM (SELECT DISTINCT "VisitID" FROM orphan) v
    WHERE NOT EXISTS (SELECT 1 FROM inherited h WHERE h."VisitID" = v."VisitID")
),
parents AS (
    INSERT INTO conflicts ("CONFLICTID", "StatusFlag", "CreatedDate")
    SELECT conflict_id, 'N', %(now)s FROM fresh
    RETURNING "CONFLICTID"
),
parent_events AS (
    INSERT INTO conflict_event (run_id, step, "CONFLICTID", old_status, new_status, reason, detail, at)
    SELECT %(run_id)s, %(step)s, "CONFLICTID", NULL, 'N', 'insert', 'conflict', %(now)s FROM parents
),
assigned AS (
    UPDATE conflictvisitmaps t
    SET "CONFLICTID" = COALESCE(h.conflict_id, f.conflict_id),
        -- LEAST ignores NULLs; a row without any CreatedDate falls back to now.
        "CRDATEUNIQUE" = COALESCE(LEAST(fc.created, oc.created), %(now)s),
        "UpdatedDate" = %(now)s
    FROM orphan o
    JOIN orphan_created oc ON oc."VisitID" = o."VisitID"
    LEFT JOIN inherited h ON h."VisitID" = o."VisitID"
    LEFT JOIN fresh f ON f."VisitID" = o."VisitID"
    LEFT JOIN first_created fc ON fc.conflict_id = h.conflict_id
    WHERE t."ID" = o."ID"
    RETURNING 1
)
SELECT (SELECT count(*) FROM assigned), (SELECT count(*) FROM parents)
