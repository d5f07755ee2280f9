-- Open a run; a second 'running' row violates pipeline_run_one_active (the lock of D20). A dry run is
-- marked (migration 0036) so that it never serves as a watermark.
INSERT INTO pipeline_run (run_id, environment, status, full_run, started_at, run_date,
    window_start, window_end, cutoff, watermark, params, context, steps, dry_run)
VALUES (%(run_id)s, %(environment)s, 'running', %(full_run)s, %(started_at)s, %(run_date)s,
    %(window_start)s, %(window_end)s, %(cutoff)s, %(watermark)s, %(params)s, %(context)s, %(steps)s,
    %(dry_run)s)
