-- A dry run (migration 0036): what it would have changed (events per step and reason, samples), read
-- before its transaction was rolled back.
UPDATE pipeline_run SET would_change = %(would_change)s WHERE run_id = %(run_id)s
