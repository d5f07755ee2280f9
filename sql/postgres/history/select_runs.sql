-- Run history (report --history, the report email): the last %(runs)s runs opened up to and including
-- the reported run (opened_at: the database's clock; started_at may be a fixed "now"), newest first.
-- Only the columns the history shows: the runs' params, context and stored reports stay in the ledger.
SELECT run_id, environment, status, full_run, started_at, ended_at, opened_at, took_over, error, dry_run,
    would_change -> 'events' AS dry_run_events
FROM pipeline_run
WHERE opened_at <= (SELECT opened_at FROM pipeline_run WHERE run_id = %(run_id)s)
ORDER BY opened_at DESC, run_id DESC
LIMIT %(runs)s
