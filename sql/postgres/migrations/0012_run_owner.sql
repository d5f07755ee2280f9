-- D20 amended: who runs a run, so that the next run can tell a live run (never taken over) from one whose
-- owner is provably gone (taken over: its cleanup is performed and it is marked 'abandoned').
--   owner:     {"kind": "local", "host", "pid", "process_start", "lock_key"} for a local process (which
--              holds a session-level advisory lock on lock_key for the whole run), or
--              {"kind": "aws", "execution_arn"} for a Step Functions execution.
--   took_over: the dead run this run cleaned up before it started, if any (for the report).
--   opened_at: when the run was opened, by the database's clock (started_at is the run's "now", which a
--              reproducible run fixes, so two runs can share it): "the latest run" is the last opened.
ALTER TABLE pipeline_run
    ADD COLUMN IF NOT EXISTS owner jsonb,
    ADD COLUMN IF NOT EXISTS took_over jsonb,
    ADD COLUMN IF NOT EXISTS opened_at timestamptz NOT NULL DEFAULT clock_timestamp();

ALTER TABLE pipeline_run DROP CONSTRAINT IF EXISTS pipeline_run_status_check;
ALTER TABLE pipeline_run ADD CONSTRAINT pipeline_run_status_check
    CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'abandoned'));
ALTER TABLE pipeline_run DROP CONSTRAINT IF EXISTS pipeline_run_outcome_check;
ALTER TABLE pipeline_run ADD CONSTRAINT pipeline_run_outcome_check
    CHECK (outcome IN ('succeeded', 'failed', 'cancelled', 'abandoned'));
