-- `visit-conflicts run --dry-run` (issue 14): the run's work is rolled back, its ledger row stays. A dry
-- run is marked, never moves the watermark (last_watermark.sql skips it), and keeps what it would have
-- changed (counts per step and reason, samples of pairs) in would_change, since its conflict_event
-- rows are rolled back with the rest.
ALTER TABLE pipeline_run ADD COLUMN IF NOT EXISTS dry_run boolean NOT NULL DEFAULT false;
ALTER TABLE pipeline_run ADD COLUMN IF NOT EXISTS would_change jsonb;

DROP INDEX IF EXISTS pipeline_run_succeeded;
CREATE INDEX IF NOT EXISTS pipeline_run_succeeded ON pipeline_run (started_at)
    WHERE status = 'succeeded' AND full_run AND NOT dry_run;
