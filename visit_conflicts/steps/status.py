"""status: status management, the 15 units of task03 in the order B -> A -> C (D15, D16, D23).

The phases are three steps of the pipeline, each a state of its own and rerunnable on its own:
`status_b`, `status_a`, `status_c` run this module with `phase="B"`, `"A"`, `"C"` (the step family
"status", see `pipeline.STEPS`); without a phase all three run in one pass. A phase keeps nothing in
memory for the next: Phase A fetches the deleted visit ids again for its delta scope, and each of A and
C builds its own scope from the database as the earlier phases left it (C's only flag, "written", is
read from the pairs' own timestamps, so its scope does not depend on the deleted ids).

Inputs: the run context (window, watermark cutoff, run start), the parameters `enable_phase_b`,
`status_units` and `status_scope`, the deleted visits of the Snowflake source
(`FACTVISITCALLPERFORMANCE_DELETED_CR`) and the conflict tables.

What it writes, unit by unit, each in its own transaction committed before the next one starts:
Phase B (when `enable_phase_b`): `fetch_deleted_visit_ids` loads the ids of the visits deleted since the
watermark cutoff (D2) inside the window into a session temp table (ids that are not uuids, and rows
outside the window, are skipped and counted per reason, D23); `deleted_visits_cvm` and
`deleted_visits_cf` mark their pairs and conflicts 'D'. Phase A: the missed-visit, UpdateFlag and
resolve cascades (`ismissed_cascade_cf` ... `cascade_resolve_cf`), the UpdatedRFlag aggregation and the
no-response resets. Phase C: the computed columns (ShVT times, BilledRateMinute, ReverseUUID); the pair
writers already set them on the rows they write (`store.computed`), so Phase C writes only rows that
came another way or that the writer leaves to it. Each unit's
SQL is `sql/postgres/status/<unit>.sql` (`visit_conflicts.store.status`). 'W' and 'I' are never changed
by the resolving cascades (units 3-9), except rows the no-response resets of the same run reopen anyway;
Phase B may still set 'D'; the no-response resets keep their legacy targets; ResolvedBy comes from the
pair with the smallest "ID" (D15). Resolve dates written are the run start (`ctx.now_local`).

Scope (D16): with `status_scope = "delta"` (default) Phases A and C touch only candidate rows. The scope
is built once, after Phase B, from index range scans: the pairs written, resolved or changed by users
since the watermark cutoff (through their own timestamp columns), the pairs of the visits deleted in the
source, the pairs still marked with the legacy UpdateFlag, the conflicts users changed since the cutoff,
then every pair of every such conflict. Each unit then visits only the candidates it can act on (flags
of the scope tables: missed visit, marker, no-response, 'U' pair, resolvable conflict, written since
the cutoff for the computed columns...), each flag a superset of the unit's targets. The `"window"` scope
is the legacy full pass over the visit window (repair and backfill); both give the same end state on data
whose earlier changes went through the step. Phase B is driven by the deleted ids in both scopes. A
delta that is most of the table (a first load, a bulk refresh, the night after either) is cheaper as one
read of the table than as an index probe per candidate: when a phase's seed pairs exceed
`status_delta_max_share` of the pair table (the planner's row estimate) and `status_delta_min_rows`,
that phase runs the window pass and its result says so (`scope_window_fallback`, a note).

Result: rows affected per unit under the legacy unit names (`fetch_deleted_visit_ids` counts the ids
loaded), the skipped source rows per reason, and the size of the delta scope. `status_units` runs a
subset of the units, in their fixed order; an unknown name is refused before any database is touched. A
unit that fails is rolled back and stops the step (the next units depend on it).

Rerun safety: every unit only writes rows that are not yet in its target state, and the sequence reaches
its fixed point in one pass, so running the step again with the same context leaves every value as it
was. (Two legacy oscillations rewrite equal values: a conflict with a missed pair and another 'U' pair is
resolved by ismissed_cascade_cf and reopened by aggregation_status_u_propagation, and a 'Yes'
no-response conflict with a 'U' pair goes to 'U' and back to 'N', on every run.) A rerun after a failure
rebuilds the temp tables and the scope (including the pairs of deleted visits that an earlier attempt
already marked 'D') and converges to the same state.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.observability import logger
from visit_conflicts.source.status import iter_deleted_visits
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store import status as store
from visit_conflicts.store.status import FETCH_DELETED, UNIT_NAMES, UNITS, Unit


class UnknownStatusUnit(ValueError):
    """`status_units` names a unit that does not exist."""


def selected_units(names: list[str]) -> list[Unit]:
    """The units to run, in their fixed order: all of them, or those `names` lists."""
    wanted = {name.strip() for name in names if name.strip()}
    unknown = sorted(wanted - set(UNIT_NAMES))
    if unknown:
        raise UnknownStatusUnit(
            f"status_units names unknown status unit(s) {unknown}; "
            f"known units, in order: {', '.join(UNIT_NAMES)}"
        )
    if not wanted:
        return list(UNITS)
    return [u for u in UNITS if u.name in wanted]


Phase = Literal["B", "A", "C"]
PHASES: tuple[Phase, ...] = ("B", "A", "C")


def run(res: Resources, ctx: RunContext, params: Params, *, phase: Phase | None = None) -> StepResult:
    """Run the selected units of `phase` (all phases when None)."""
    phase_units = [u for u in UNITS if phase is None or u.phase == phase]
    units = [u for u in selected_units(params.status_units) if u in phase_units]
    delta = params.status_scope == "delta"
    bind = _bind(ctx, f"status_{phase.lower()}" if phase else "status")
    counts: dict[str, Any] = {}
    notes = [f"scope: {params.status_scope}"] + ([f"phase {phase}"] if phase else [])
    if not params.enable_phase_b and any(u.phase == "B" for u in phase_units):
        notes.append("phase B skipped: enable_phase_b is false")
    runs_b = params.enable_phase_b and any(u.phase == "B" for u in units)
    # The deleted ids feed Phase B and Phase A's delta scope (the pairs of deleted visits stay
    # candidates on a rerun after an attempt that already marked them 'D').
    scope_needs_ids = params.enable_phase_b and delta and any(u.phase == "A" for u in units)
    with res.pg_conn() as pg:
        store.create_scope_tables(pg)
        if runs_b or scope_needs_ids:
            check_cancelled(res.cancel)
            with res.source_conn() as sf:
                ids, skipped = usable_deleted_visit_ids(iter_deleted_visits(sf, ctx))
            store.load_deleted_visit_ids(pg, ids)
            if runs_b or phase is None:
                counts[FETCH_DELETED] = len(ids)
                counts.update({f"skipped_{reason}": n for reason, n in sorted(skipped.items())})
                _log_unit(ctx, FETCH_DELETED, len(ids), None)
            else:  # Phase A on its own: the ids only build the scope (B counted them)
                counts["scope_deleted_visit_ids"] = len(ids)
        scoped = False
        for unit in units:
            if unit.name == FETCH_DELETED or (unit.phase == "B" and not params.enable_phase_b):
                continue
            check_cancelled(res.cancel)
            if unit.phase != "B" and delta and not scoped:
                started = time.perf_counter()
                limit = seed_limit(params, store.pair_table_rows(pg))
                scope = store.build_delta_scope(pg, bind, max_seed_rows=limit)
                if scope is None:
                    # A bulk delta (first load, bulk refresh): one read of the table beats an index probe
                    # per candidate, and the window pass reaches the same end state (D16).
                    delta = False
                    counts["scope_window_fallback"] = 1
                    notes.append(
                        f"delta scope over {limit} seed pairs (status_delta_max_share, "
                        f"status_delta_min_rows): ran as a window pass"
                    )
                    _log_unit(ctx, "delta_scope_fallback", 0, time.perf_counter() - started)
                else:
                    counts.update(scope)
                    _log_unit(ctx, "delta_scope", counts["scope_rows"], time.perf_counter() - started)
                scoped = True
            started = time.perf_counter()
            result = store.run_unit(pg, unit, bind, delta=delta)
            _log_unit(ctx, unit.name, result[unit.name], time.perf_counter() - started)
            counts.update(result)
        store.drop_scope_tables(pg)
    not_run = [u.name for u in phase_units if u.name not in counts]
    if not_run:
        notes.append(f"not run: {', '.join(not_run)}")
    return StepResult(counts=counts, notes=notes)


def seed_limit(params: Params, table_rows: int) -> int | None:
    """The most seed pairs a delta scope may have before the phase runs as a window pass instead (None:
    no limit). `table_rows` is the pair table's planner estimate (0 before its first ANALYZE)."""
    if params.status_delta_max_share >= 1:
        return None
    return max(params.status_delta_min_rows, int(params.status_delta_max_share * table_rows))


def usable_deleted_visit_ids(rows: Any) -> tuple[set[uuid.UUID], dict[str, int]]:
    """The deleted visit ids inside the window that parse as uuids, and the other source rows counted
    per reason (D23)."""
    skipped = {"invalid_visit_id": 0, "outside_window": 0}
    ids: set[uuid.UUID] = set()
    for visit_id, in_window, source_rows in rows:
        if not in_window:
            skipped["outside_window"] += source_rows
            continue
        parsed = _parse_uuid(visit_id)
        if parsed is None:
            skipped["invalid_visit_id"] += source_rows
        else:
            ids.add(parsed)
    return ids, skipped


def _bind(ctx: RunContext, step: str) -> dict[str, Any]:
    """The run's values every unit binds (D1: computed once), and what the conflict history records of
    the units that change statuses (the run and the step)."""
    return {
        "run_id": ctx.run_id,
        "step": step,
        "now": ctx.now_local,
        "cutoff": ctx.cutoff_local,
        "window_start": ctx.window_start,
        "window_end": ctx.window_end,
    }


def _parse_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


def _log_unit(ctx: RunContext, unit: str, rows: int, seconds: float | None) -> None:
    # The seconds per unit tell an operator which statement a slow status step spent its time in.
    extra: dict[str, Any] = {"run_id": ctx.run_id, "unit": unit, "rows": rows}
    if seconds is not None:
        extra["seconds"] = round(seconds, 3)
    logger.info("status unit finished", extra=extra)
