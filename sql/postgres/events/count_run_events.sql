-- Conflict history (migration 0035): a run's events per step and reason (the report, and what a dry run
-- would have changed, read inside its transaction before the rollback).
SELECT step, reason, count(*) AS events
FROM conflict_event
WHERE run_id = %(run_id)s
GROUP BY step, reason
ORDER BY step, reason
