-- Delta scope, step 4 (D16): which candidate conflicts each per-conflict unit can act on, from their
-- pairs as they are after Phase B. Each flag holds for a superset of the conflicts the unit can change,
-- because the facts it reads only move one way before that unit runs:
--   has_update  (aggregation_status_u_propagation): a 'U' pair; nothing sets 'U' before that unit.
--   may_cascade (cascade_resolve_cvm): resolved or deleted, or a missed pair (ismissed_cascade_cf can
--               resolve it); aggregation_status_u_propagation only reopens.
--   may_resolve (cascade_resolve_cf): pairs inside the window, each already 'R'/'D', missed or marked
--               (ismissed_cascade_cvm and updateflag_orphan_cleanup resolve those); nothing reopens a
--               pair before that unit, and cascade_resolve_cvm only acts under 'R'/'D' parents.
UPDATE _status_scope_conflict k
SET has_update = r.has_update,
    may_cascade = k.closed OR r.has_missed,
    may_resolve = r.in_window > 0 AND r.in_window = r.resolvable
FROM (
    SELECT "CONFLICTID",
           COALESCE(bool_or(status = 'U'), FALSE) AS has_update,
           bool_or(missed) AS has_missed,
           count(*) FILTER (WHERE in_window) AS in_window,
           count(*) FILTER (WHERE in_window AND (status IN ('R', 'D') OR missed OR marked)) AS resolvable
    FROM _status_scope_row
    WHERE "CONFLICTID" IS NOT NULL
    GROUP BY "CONFLICTID"
) r
WHERE k."CONFLICTID" = r."CONFLICTID"
