-- Run ledger (D20): every run and step with parameters, status, timings, measured counts and errors.
-- It holds the watermark (D2: start of the last successful full run), feeds the report (D22), makes
-- steps idempotent on rerun, and is the single-run lock: at most one row can be 'running'.

CREATE TABLE IF NOT EXISTS pipeline_run (
    run_id        text PRIMARY KEY,
    environment   text NOT NULL,
    status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    full_run      boolean NOT NULL,          -- all steps requested: only such runs move the watermark
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    run_date      date NOT NULL,
    window_start  date NOT NULL,
    window_end    date NOT NULL,
    cutoff        timestamptz NOT NULL,
    watermark     timestamptz,
    params        jsonb NOT NULL,
    context       jsonb NOT NULL,
    steps         text[] NOT NULL,
    pg_cron_state jsonb,                     -- D18: the job's state before the run, restored by cleanup
    table_rows_before jsonb,                 -- D21: pg_class.reltuples at preflight, for the report
    error         text,
    report        jsonb                      -- D22: the JSON record of the report
);

-- The lock: a second 'running' row violates this index, so a concurrent run is refused, not queued.
CREATE UNIQUE INDEX IF NOT EXISTS pipeline_run_one_active ON pipeline_run ((true)) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS pipeline_run_succeeded ON pipeline_run (started_at) WHERE status = 'succeeded' AND full_run;

CREATE TABLE IF NOT EXISTS pipeline_run_step (
    run_id      text NOT NULL REFERENCES pipeline_run (run_id) ON DELETE CASCADE,
    step        text NOT NULL,
    chunk       int NOT NULL DEFAULT -1,     -- -1: the step is not mapped over chunks
    status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    attempt     int NOT NULL DEFAULT 1,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    counts      jsonb NOT NULL DEFAULT '{}'::jsonb,
    error       text,
    PRIMARY KEY (run_id, step, chunk)
);

-- Ledger-side scope of a run (plan step) and the pair keys each chunk produced (detect step), so that
-- finalize can run in another process. Unlogged: they are scratch data of one run, rebuilt on rerun.
CREATE UNLOGGED TABLE IF NOT EXISTS run_scope_group (
    run_id      text NOT NULL,
    chunk       int NOT NULL,
    "VisitDate" date NOT NULL,
    "SSN"       varchar(20) NOT NULL
);
CREATE INDEX IF NOT EXISTS run_scope_group_run ON run_scope_group (run_id, chunk);

CREATE UNLOGGED TABLE IF NOT EXISTS run_seen_pair (
    run_id       text NOT NULL,
    chunk        int NOT NULL,
    "VisitID"    uuid NOT NULL,
    "ConVisitID" uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS run_seen_pair_run ON run_seen_pair (run_id, chunk);
-- The anti-join of stale cleanup looks pairs up by key within a run.
CREATE INDEX IF NOT EXISTS run_seen_pair_key ON run_seen_pair (run_id, "VisitID", "ConVisitID");
