-- Session temp tables of the status step: the deleted visit ids of Phase B, and the delta scope (D16):
-- the seed pairs, the candidate conflicts and the candidate pairs, each with the facts that tell which
-- unit can act on it (see scope_rows.sql and scope_flags.sql). Emptied at every start: a rerun starts
-- clean.
CREATE TEMP TABLE IF NOT EXISTS _tmp_deleted_visits ("VisitID" uuid PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS _status_scope_seed ("ID" int8 PRIMARY KEY, "CONFLICTID" int8);
CREATE TEMP TABLE IF NOT EXISTS _status_scope_conflict (
    "CONFLICTID" int8 PRIMARY KEY,
    closed bool NOT NULL,
    unmarked bool NOT NULL,
    no_response bool NOT NULL,
    has_update bool NOT NULL DEFAULT FALSE,
    may_cascade bool NOT NULL DEFAULT FALSE,
    may_resolve bool NOT NULL DEFAULT FALSE
);
CREATE TEMP TABLE IF NOT EXISTS _status_scope_row (
    "ID" int8 PRIMARY KEY,
    "CONFLICTID" int8,
    status varchar(5),
    in_window bool NOT NULL,
    written bool NOT NULL,
    missed bool NOT NULL,
    marked bool NOT NULL,
    con_no_response bool NOT NULL
);
TRUNCATE _tmp_deleted_visits, _status_scope_seed, _status_scope_conflict, _status_scope_row;
