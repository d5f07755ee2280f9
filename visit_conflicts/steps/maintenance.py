"""maintenance: scoped VACUUM (ANALYZE) and the payer view refresh, after the steps that write (D21).

Inputs: the run's ledger (which steps ran), `materialized_view_name`. Writes no conflict data: VACUUM
(ANALYZE) of exactly the tables that the run's steps declare they write (`pipeline.Step.writes`, for
every step of this run that was not skipped; the wide tables analysed on the columns queries use), then
the payer view's table brought up to date for the conflicts changed since the last run
(`payer_view_mode = "rebuild"`: all of them) and the view refreshed concurrently (a plain refresh as
fallback), or its refresh left to the pg_cron job when `payer_view_refresh = "cron"` (the default) and
preflight found the job active (restore re-enables it): the refresh copies and compares the whole view,
the one O(table) part of the step. The counts say where the time went (`vacuum_seconds`,
`payer_view_seconds` for the table, `view_refresh_seconds`). The scratch and log tables that every
writing run fills and empties (scope, seen keys, change logs) get a plain VACUUM too, which frees earlier
runs' deleted rows for reuse (`scratch_vacuumed`). Row counts for the report come from
`pg_class.reltuples`, never COUNT(*).

A Fargate step, not part of the closing Lambdas: at production volume (~9M CVM rows) VACUUM and the
refresh can take longer than a Lambda may run, and the closing steps must never wait on them. It is
selected whenever the run selects a step that writes (`follows_writes`), so a rerun of a subset is
maintained too. After a failed step it does not run: the next run's maintenance, autovacuum and the
pg_cron job (re-enabled by restore) cover that. Safe to rerun: VACUUM and the refresh are idempotent.
It also purges the conflict history (`conflict_event`) older than `event_retention_days` before the run's
clock, counted (`events_purged`). A dry run skips the step.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.pipeline import STEP_BY_NAME
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store import ledger
from visit_conflicts.store.maintenance import purge_events, vacuum_scratch, vacuum_tables
from visit_conflicts.store.payer_view import PayerViewMaintenance, maintain_payer_view


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    if res.dry_run:
        # VACUUM and the concurrent refresh cannot run inside the dry run's transaction, and there is
        # nothing of this run to maintain: its writes are rolled back.
        return StepResult(status="skipped", notes=["dry run: no maintenance"])
    with res.pg_conn(autocommit=True) as conn:
        purged = purge_events(conn, now=ctx.now_local, retention_days=params.event_retention_days)
        check_cancelled(res.cancel)
        tables = tables_written(ledger.get_steps(conn, ctx.run_id))
        check_cancelled(res.cancel)
        started = time.perf_counter()
        vacuumed = vacuum_tables(conn, tables)
        # Any run that writes fills and empties the scratch and log tables (scope, seen keys, change logs).
        scratch = vacuum_scratch(conn) if tables else []
        vacuum_seconds = time.perf_counter() - started
        check_cancelled(res.cancel)
        run_row = ledger.get_run(conn, ctx.run_id) or {}
        view = _payer_view(conn, params, ctx, run_row.get("pg_cron_state"))
    return StepResult(
        counts={
            "tables_vacuumed": len(vacuumed),
            "vacuumed": ",".join(vacuumed) if vacuumed else "none",
            "scratch_vacuumed": len(scratch),
            "materialized_view": (
                f"{view.mode}: {view.conflicts} conflicts, {view.rows_removed} rows removed, "
                f"{view.rows_written} written; view {view.refresh}"
            ),
            "events_purged": purged,
            # Where the step's time goes: VACUUM/ANALYZE and the view's table are O(delta); the view's
            # refresh is O(table) (zero when left to the pg_cron job).
            "vacuum_seconds": round(vacuum_seconds, 3),
            "payer_view_seconds": view.compute_seconds,
            "view_refresh_seconds": view.refresh_seconds,
        }
    )


def _payer_view(
    conn: psycopg.Connection, params: Params, ctx: RunContext, cron_state: dict[str, Any] | None
) -> PayerViewMaintenance:
    # With "cron", the job preflight found active (restore re-enables it) publishes the view.
    cron_refreshes = params.payer_view_refresh == "cron" and bool(cron_state and cron_state.get("active"))
    return maintain_payer_view(
        conn,
        view=params.materialized_view_name,
        mode=params.payer_view_mode,
        now=ctx.now_local,
        refresh=not cron_refreshes,
    )


def tables_written(steps: list[ledger.StepRecord]) -> list[str]:
    """The tables the run's steps (not skipped) declare they write, in step order (D21)."""
    names: list[str] = []
    for record in steps:
        step = STEP_BY_NAME.get(record.step)
        if step is None or record.status == "skipped":
            continue
        for table in step.writes:
            if table not in names:
                names.append(table)
    return names
