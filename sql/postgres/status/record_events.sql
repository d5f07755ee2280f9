-- A status unit that changes statuses, with its conflict history (migration 0035) in the same statement:
-- the unit's UPDATE (sql/postgres/status/<unit>.sql) goes into the CTE `changed` and returns, per updated
-- pair or conflict, its keys (the pair columns NULL for a parent conflict), the status before (a scalar
-- subquery in RETURNING reads the statement's snapshot, which does not see the statement's own update)
-- and after. Rows whose status did not move (a unit that only rewrites resolution columns) get no
-- event. Returns the unit's rows affected.
WITH changed AS (
{update}
RETURNING {returning}
),
events AS (
    INSERT INTO conflict_event (run_id, step, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status,
        new_status, reason, detail, at)
    SELECT %(run_id)s, %(step)s, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status, new_status,
        {reason}, {detail}, %(now)s
    FROM changed
    WHERE old_status IS DISTINCT FROM new_status
)
SELECT count(*) FROM changed
