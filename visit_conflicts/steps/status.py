"""status: status management, the 15 units of task03 in the order B -> A -> C (D15, D16, D23).

Inputs: the run context (window, watermark cutoff, run start), the parameters `enable_phase_b`,
`only_steps` and `status_scope`, the deleted visits of the Snowflake source
(`FACTVISITCALLPERFORMANCE_DELETED_CR`) and the conflict tables.

What it writes, unit by unit, each in its own transaction committed before the next one starts:
Phase B (when `enable_phase_b`): `fetch_deleted_visit_ids` loads the ids of the visits deleted since the
watermark cutoff (D2) inside the window into a session temp table (ids that are not uuids, and rows
outside the window, are skipped and counted per reason, D23); `deleted_visits_cvm` and
`deleted_visits_cf` mark their pairs and conflicts 'D'. Phase A: the missed-visit, UpdateFlag and
resolve cascades (`ismissed_cascade_cf` ... `cascade_resolve_cf`), the UpdatedRFlag aggregation and the
no-response resets. Phase C: the computed columns (ShVT times, BilledRateMinute, ReverseUUID). Each unit's
SQL is `sql/postgres/status/<unit>.sql`. 'W' and 'I' are never changed by the resolving cascades (units
3-9), except rows the no-response resets of the same run reopen anyway; Phase B may still set 'D'; the
no-response resets keep their legacy targets; ResolvedBy comes from the pair with the smallest "ID"
(D15). Resolve dates written are the run start (`ctx.now_local`).

Scope (D16): with `status_scope = "delta"` (default) Phases A and C touch only candidate rows. The scope
is built once, after Phase B, from index range scans: the pairs written, resolved or changed by users
since the watermark cutoff (through their own timestamp columns), the pairs of the visits deleted in the
source, the pairs still marked with the legacy UpdateFlag, the conflicts users changed since the cutoff,
then every pair of every such conflict. Each unit then visits only the candidates it can act on (flags
of the scope tables: missed visit, marker, no-response, 'U' pair, resolvable conflict, written since
the cutoff for the computed columns...), each flag a superset of the unit's targets. The `"window"` scope
is the legacy full pass over the visit window (repair and backfill); both give the same end state on data
whose earlier changes went through the step. Phase B is driven by the deleted ids in both scopes. Phase B
and the delta scope run with nested loops over index scans only (see `_INDEX_DRIVEN`).

Result: rows affected per unit under the legacy unit names (`fetch_deleted_visit_ids` counts the ids
loaded), the skipped source rows per reason, and the size of the delta scope. `only_steps` runs a subset
of the units, in their fixed order; an unknown name is refused before any database is touched. A unit
that fails is rolled back and stops the step (the next units depend on it).

Rerun safety: every unit only writes rows that are not yet in its target state, and the sequence reaches
its fixed point in one pass, so running the step again with the same context leaves every value as it
was. (Two legacy oscillations rewrite equal values: a conflict with a missed pair and another 'U' pair is
resolved by ismissed_cascade_cf and reopened by aggregation_status_u_propagation, and a 'Yes'
no-response conflict with a 'U' pair goes to 'U' and back to 'N', on every run.) A rerun after a failure
rebuilds the temp tables and the scope (including the pairs of deleted visits that an earlier attempt
already marked 'D') and converges to the same state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.execution import check_cancelled
from visit_conflicts.observability import logger
from visit_conflicts.paths import read_sql
from visit_conflicts.steps import Resources, StepResult

FETCH_DELETED = "fetch_deleted_visit_ids"
DELETED_VISITS_TABLE = "_tmp_deleted_visits"
STATEMENT_TIMEOUT = "1800s"
_FETCH_BATCH = 50_000

# The delta scope (D16) as a predicate on the alias the unit SQL uses for the pair (c) or the conflict
# (f) it restricts: the candidate pairs or conflicts on which the unit's flag of the scope tables is set
# (see scope_rows.sql / scope_flags.sql); the window scope restricts nothing beyond the units' own
# window filter.
_PAIR_CANDIDATES = 'EXISTS (SELECT 1 FROM _status_scope_row s WHERE s."ID" = c."ID" AND s.{flag})'
_PAIRS_OF_CANDIDATE_CONFLICTS = (
    'EXISTS (SELECT 1 FROM _status_scope_conflict s WHERE s."CONFLICTID" = c."CONFLICTID" AND s.{flag})'
)
_CONFLICT_CANDIDATES = (
    'EXISTS (SELECT 1 FROM _status_scope_conflict s WHERE s."CONFLICTID" = f."CONFLICTID" AND s.{flag})'
)


# Phase B and the delta scope start from small driving sets (deleted ids, candidate ids) and reach the
# big tables through their indexes: a few thousand index probes on hot pages. The planner, costing each
# random read as a disk seek, would rather read the whole table once per unit (seconds per unit at 1M
# rows, growing with the table, measured by bench/bench_status.py), so these units run with nested loops
# over index scans only. The window pass, which reads everything anyway, keeps the planner's defaults.
_INDEX_DRIVEN = (
    b"SET LOCAL random_page_cost = 1.1; SET LOCAL enable_seqscan = off; "
    b"SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
)


# Flags of _status_scope_conflict; every other flag is one of _status_scope_row.
_CONFLICT_FLAGS = frozenset({"unmarked", "has_update", "may_cascade", "may_resolve", "no_response"})


@dataclass(frozen=True)
class Unit:
    """One legacy status unit: its name (also the name of its SQL file), its phase, and the scope-table
    flag that marks the pairs or conflicts it can act on in the delta scope."""

    name: str
    phase: Literal["B", "A", "C"]
    candidates: str = ""

    @property
    def sql_file(self) -> str:
        return f"postgres/status/{self.name}.sql"

    def scope(self, delta: bool) -> dict[str, sql.Composable]:
        """The unit SQL's {row_scope} (on pairs c) and {conflict_scope} (on conflicts f) predicates."""
        if not delta:
            return {"row_scope": sql.SQL("TRUE"), "conflict_scope": sql.SQL("TRUE")}
        flag = self.candidates
        rows = _PAIRS_OF_CANDIDATE_CONFLICTS if flag in _CONFLICT_FLAGS else _PAIR_CANDIDATES
        return {
            "row_scope": sql.SQL(rows.format(flag=flag)),
            "conflict_scope": sql.SQL(_CONFLICT_CANDIDATES.format(flag=flag)),
        }


UNITS: tuple[Unit, ...] = (
    Unit(FETCH_DELETED, "B"),
    Unit("deleted_visits_cvm", "B"),
    Unit("deleted_visits_cf", "B"),
    Unit("ismissed_cascade_cf", "A", candidates="missed"),
    Unit("ismissed_cascade_cvm", "A", candidates="missed"),
    Unit("updateflag_orphan_cleanup", "A", candidates="marked"),
    Unit("aggregation_mark_updatedrflag", "A", candidates="unmarked"),
    Unit("aggregation_status_u_propagation", "A", candidates="has_update"),
    Unit("cascade_resolve_cvm", "A", candidates="may_cascade"),
    Unit("cascade_resolve_cf", "A", candidates="may_resolve"),
    Unit("noresponse_flag_cf", "A", candidates="no_response"),
    Unit("noresponse_flag_cvm", "A", candidates="con_no_response"),
    Unit("computed_time_columns", "C", candidates="written"),
    Unit("computed_billed_rate", "C", candidates="written"),
    Unit("computed_reverse_uuid", "C", candidates="written"),
)
UNIT_NAMES = tuple(u.name for u in UNITS)


class UnknownStatusUnit(ValueError):
    """`only_steps` names a unit that does not exist."""


def selected_units(only_steps: list[str]) -> list[Unit]:
    """The units to run, in their fixed order: all of them, or those `only_steps` names."""
    wanted = {name.strip() for name in only_steps if name.strip()}
    unknown = sorted(wanted - set(UNIT_NAMES))
    if unknown:
        raise UnknownStatusUnit(
            f"only_steps names unknown status unit(s) {unknown}; "
            f"known units, in order: {', '.join(UNIT_NAMES)}"
        )
    if not wanted:
        return list(UNITS)
    return [u for u in UNITS if u.name in wanted]


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    units = selected_units(params.only_steps)
    delta = params.status_scope == "delta"
    counts: dict[str, Any] = {}
    notes = [f"scope: {params.status_scope}"]
    if not params.enable_phase_b:
        notes.append("phase B skipped: enable_phase_b is false")
    with res.pg_conn() as pg:
        with pg.transaction():
            pg.execute(read_sql("postgres/status/create_scope_tables.sql").encode())
        # The deleted ids feed Phase B and the delta scope (the pairs of deleted visits stay candidates
        # on a rerun after an attempt that already marked them 'D').
        if params.enable_phase_b and (delta or any(u.phase == "B" for u in units)):
            check_cancelled(res.cancel)
            fetched, skipped = _load_deleted_visits(res, ctx, pg)
            counts[FETCH_DELETED] = fetched
            counts.update({f"skipped_{reason}": n for reason, n in sorted(skipped.items())})
            logger.info(
                "status unit finished", extra={"run_id": ctx.run_id, "unit": FETCH_DELETED, "rows": fetched}
            )
        scoped = False
        for unit in units:
            if unit.name == FETCH_DELETED or (unit.phase == "B" and not params.enable_phase_b):
                continue
            check_cancelled(res.cancel)
            if unit.phase != "B" and delta and not scoped:
                counts.update(_build_delta_scope(pg, ctx))
                scoped = True
            counts.update(_run_unit(pg, unit, ctx, delta))
        with pg.transaction():
            pg.execute(
                "DROP TABLE IF EXISTS _tmp_deleted_visits, _status_scope_seed, _status_scope_row, "
                "_status_scope_conflict"
            )
    not_run = [u.name for u in UNITS if u.name not in counts]
    if not_run:
        notes.append(f"not run: {', '.join(not_run)}")
    return StepResult(counts=counts, notes=notes)


def _params(ctx: RunContext) -> dict[str, Any]:
    return {
        "now": ctx.now_local,
        "cutoff": ctx.cutoff_local,
        "window_start": ctx.window_start,
        "window_end": ctx.window_end,
    }


def _run_unit(pg: psycopg.Connection, unit: Unit, ctx: RunContext, delta: bool) -> dict[str, int]:
    """Run one unit in its own transaction, restricted to the delta scope when `delta`; returns its rows
    affected (and any extra counts it reports)."""
    statement = sql.SQL(read_sql(unit.sql_file)).format(**unit.scope(delta))
    try:
        with pg.transaction(), pg.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(STATEMENT_TIMEOUT)))
            if delta or unit.phase == "B":
                cur.execute(_INDEX_DRIVEN)
            cur.execute(statement, _params(ctx))
            result = {unit.name: max(cur.rowcount, 0)}
            if cur.description is not None:
                # A unit that returns a row reports its rows affected first, then named extra counts.
                row = cur.fetchone()
                names = [d.name for d in cur.description]
                if row is not None:
                    result = {unit.name: int(row[0])}
                    result.update({name: int(value) for name, value in zip(names[1:], row[1:], strict=True)})
    except psycopg.Error as exc:
        raise RuntimeError(
            f"status unit {unit.name} failed and was rolled back ({type(exc).__name__}: {exc}); "
            f"units before it are committed; rerun the status step"
        ) from exc
    logger.info(
        "status unit finished", extra={"run_id": ctx.run_id, "unit": unit.name, "rows": result[unit.name]}
    )
    return result


def _load_deleted_visits(
    res: Resources, ctx: RunContext, pg: psycopg.Connection
) -> tuple[int, dict[str, int]]:
    """Fetch the visits deleted since the cutoff (D2) from the source and COPY the usable ids into the
    session temp table. Returns (ids loaded, source rows skipped per reason, D23)."""
    skipped = {"invalid_visit_id": 0, "outside_window": 0}
    ids: set[uuid.UUID] = set()
    query = read_sql("snowflake/status/select_deleted_visits.sql")
    bind = {
        "time_zone": ctx.business_timezone,
        "cutoff": ctx.cutoff.isoformat(),
        "window_start": ctx.window_start.isoformat(),
        "window_end": ctx.window_end.isoformat(),
    }
    with res.source_conn() as sf:
        cur = sf.cursor()
        try:
            cur.execute(query, bind)
            while batch := cur.fetchmany(_FETCH_BATCH):
                for visit_id, in_window, source_rows in batch:
                    if not in_window:
                        skipped["outside_window"] += int(source_rows)
                        continue
                    parsed = _parse_uuid(visit_id)
                    if parsed is None:
                        skipped["invalid_visit_id"] += int(source_rows)
                    else:
                        ids.add(parsed)
        finally:
            cur.close()
    with pg.transaction(), pg.cursor() as pcur:
        with pcur.copy(
            sql.SQL('COPY {} ("VisitID") FROM STDIN').format(sql.Identifier(DELETED_VISITS_TABLE))
        ) as copy:
            for value in ids:
                copy.write_row((value,))
        # Without statistics the planner assumes ~200 rows whatever the size and picks bad joins.
        pcur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(DELETED_VISITS_TABLE)))
    return len(ids), skipped


def _parse_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


def _build_delta_scope(pg: psycopg.Connection, ctx: RunContext) -> dict[str, int]:
    """Fill the candidate pair and conflict ids of the delta scope (D16); returns their numbers."""
    bind = _params(ctx)
    with pg.transaction(), pg.cursor() as cur:
        cur.execute(_INDEX_DRIVEN)
        for step in ("scope_seed_rows", "scope_conflicts", "scope_rows", "scope_flags"):
            cur.execute(read_sql(f"postgres/status/{step}.sql").encode(), bind)
        cur.execute("ANALYZE _status_scope_row")
        cur.execute("ANALYZE _status_scope_conflict")
        rows = cur.execute("SELECT count(*) FROM _status_scope_row").fetchone()
        conflicts = cur.execute("SELECT count(*) FROM _status_scope_conflict").fetchone()
    return {
        "scope_rows": int(rows[0]) if rows else 0,
        "scope_conflicts": int(conflicts[0]) if conflicts else 0,
    }
