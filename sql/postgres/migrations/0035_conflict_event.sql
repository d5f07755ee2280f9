-- Conflict history (issue 14): an append-only record of every change the pipeline makes to a pair's or a
-- conflict's status, and of every insert and resolve, written set-based in the same transaction as the
-- change itself (a rolled-back batch or unit leaves no event). One row per changed pair ("ID",
-- "CONFLICTID", "VisitID", "ConVisitID" set) or per changed parent conflict ("CONFLICTID" set, the pair
-- columns NULL). old_status is NULL for an insert. reason: 'insert' (detail: the rule flags set, or
-- 'InService'; 'conflict' for a new parent), 'changed' (a business column changed, D11), 'reopened'
-- (R -> U), 'stale' (D12, finalize or inservice), 'deleted_visit' (Phase B, detail: the unit), or the
-- status unit's name (Phase A). at = the run's clock (D1), like every timestamp the run writes.
-- Rows older than `event_retention_days` are purged by the maintenance step.
CREATE TABLE IF NOT EXISTS conflict_event (
    event_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       text NOT NULL,
    step         text NOT NULL,
    "ID"         bigint,
    "CONFLICTID" bigint,
    "VisitID"    uuid,
    "ConVisitID" uuid,
    old_status   varchar(5),
    new_status   varchar(5),
    reason       text NOT NULL,
    detail       text,
    at           timestamp NOT NULL
);

-- The report (events per reason of a run) and a dry run's sample.
CREATE INDEX IF NOT EXISTS conflict_event_run ON conflict_event (run_id, reason);
-- `visit-conflicts explain`: a pair's history by either visit, a conflict's by its id.
CREATE INDEX IF NOT EXISTS conflict_event_visit ON conflict_event ("VisitID");
CREATE INDEX IF NOT EXISTS conflict_event_con_visit ON conflict_event ("ConVisitID");
CREATE INDEX IF NOT EXISTS conflict_event_conflict ON conflict_event ("CONFLICTID");
-- Retention: rows are appended in time order, so a BRIN index finds the old ones at almost no write cost.
CREATE INDEX IF NOT EXISTS conflict_event_at ON conflict_event USING brin (at);
