-- 0005: ledger-side scope of the inservice step (D14).
--
-- The inservice step records the scope of its stale cleanup here, keyed by run id, like run_scope_group
-- does for detect/finalize (0010). It has its own tables on purpose: finalize resolves every regular
-- pair of the groups in run_scope_group (all chunks of the run), so InService scope keys must never
-- land there. The seen keys of the inservice step go to run_seen_pair under chunk -2 (no detect chunk
-- is negative); they cannot match a regular pair because one side of an InService pair is a synthetic
-- md5('I' || id) uuid.
-- Unlogged: scratch data of one step of one run; the step rebuilds them when it reruns and deletes them
-- (and its seen keys) when it is done.

-- Caregiver SSNs whose InService pairs (inside the run's window) the run re-evaluated (delta mode).
CREATE UNLOGGED TABLE IF NOT EXISTS run_inservice_scope_ssn (
    run_id text NOT NULL,
    "SSN"  varchar(20) NOT NULL
);
CREATE INDEX IF NOT EXISTS run_inservice_scope_ssn_key ON run_inservice_scope_ssn (run_id, "SSN");

-- InService events (synthetic VisitID) changed since the cutoff: their pairs are in scope whatever SSN
-- the pairs were stored under (an event moved to another caregiver).
CREATE UNLOGGED TABLE IF NOT EXISTS run_inservice_scope_event (
    run_id    text NOT NULL,
    "VisitID" uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS run_inservice_scope_event_key ON run_inservice_scope_event (run_id, "VisitID");
