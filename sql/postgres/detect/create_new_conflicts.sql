-- D10: the remaining new pairs get a new parent `conflicts` row, one per primary visit (StatusFlag 'N').
-- Each new parent is recorded in the conflict history (migration 0035: pair columns NULL).
-- Returns the number of parents created.
WITH fresh AS (
    SELECT v."VisitID", nextval(pg_get_serial_sequence('conflicts', 'CONFLICTID')) AS conflict_id
    FROM (SELECT DISTINCT "VisitID" FROM {new_pairs} WHERE conflict_id IS NULL) v
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
    UPDATE {new_pairs} k
    SET conflict_id = f.conflict_id
    FROM fresh f
    WHERE k."VisitID" = f."VisitID" AND k.conflict_id IS NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM parents), (SELECT count(*) FROM assigned)
