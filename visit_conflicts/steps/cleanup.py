"""cleanup + report: always runs, whatever happened before (D19).

Guarantees: when this run holds the lock, pg_cron is restored to exactly the state preflight recorded
(D18), `InProgressFlag` goes to the configured idle value and, on success, `LastLoadDate` to the run end
(D17); the tables the run wrote are VACUUM/ANALYZEd and nothing else (D21); the payer view's table is
brought up to date for the conflicts changed since the last run (`payer_view_mode = "rebuild"`: all of
them) and the materialized view refreshed concurrently (plain refresh as fallback), or left to the
pg_cron job when `payer_view_refresh = "cron"` and the job was active; the run's scratch
rows are dropped; the ledger run is closed with the outcome the engine recorded
(`ledger.record_outcome`) and the report is stored in it as JSON and emailed through SES when enabled
(D22); the result carries the report. When the run never got
the lock (refused by preflight: no ledger row, or another run's), nothing is restored: the active run
owns that state. Each part is attempted even if an earlier part fails; the failures are reported. Safe
to rerun: every part is idempotent, and a closed run is only reported again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.mail import send_report_email
from visit_conflicts.observability import logger
from visit_conflicts.pipeline import STEP_BY_NAME
from visit_conflicts.report import build_report
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.store import ledger
from visit_conflicts.store.cleanup import maintain, purge_scratch, reset_in_progress_flag
from visit_conflicts.store.payer_view import maintain_payer_view
from visit_conflicts.store.pg_cron import restore_cron_job

CLEANUP = "cleanup"
NO_OUTCOME = "the run ended without recording how its steps ended (the engine stopped)"


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    problems: list[str] = []
    counts: dict[str, Any] = {}
    with res.pg_conn(autocommit=True) as conn:
        try:
            run_row = ledger.get_run(conn, ctx.run_id)
        except psycopg.errors.UndefinedTable:
            run_row = None  # a schema without the ledger: the run was refused before it opened
        if run_row is None:
            return StepResult(status="skipped", notes=["the run was never opened: nothing to restore"])
        owns_lock = run_row["status"] == "running"
        if owns_lock:
            counts, problems = _restore_and_close(conn, params, run_row, ctx)
        report = build_report(conn, res.schema, ctx.run_id)
        if owns_lock:
            ledger.store_report(conn, ctx.run_id, report)
    if params.email.enabled:
        try:
            send_report_email(params.email, report)
        except Exception as exc:
            problems.append(f"email: {exc}")
            logger.exception("sending the report failed")
    logger.info("run report", extra={"report": report})
    return StepResult(
        counts=counts, status="failed" if problems else "succeeded", notes=problems, report=report
    )


def _restore_and_close(
    conn: psycopg.Connection, params: Params, run_row: dict[str, Any], ctx: RunContext
) -> tuple[dict[str, Any], list[str]]:
    """Every part of the restore, then the run closed with the engine's outcome."""
    run_id = run_row["run_id"]
    outcome = run_row.get("outcome") or "failed"
    error = run_row.get("error") or (None if run_row.get("outcome") else NO_OUTCOME)
    ledger.step_started(conn, run_id, CLEANUP)
    tables = tables_written(ledger.get_steps(conn, run_id))
    parts: tuple[tuple[str, Callable[[], Any]], ...] = (
        ("pg_cron", lambda: restore_cron_job(conn, run_row.get("pg_cron_state"))),
        ("in_progress_flag", lambda: _reset_flag(conn, params, success=outcome == "succeeded")),
        ("maintenance", lambda: _maintain(conn, tables)),
        ("materialized_view", lambda: _payer_view(conn, params, ctx, run_row.get("pg_cron_state"))),
        ("scratch_rows", lambda: purge_scratch(conn, run_id)),
    )
    counts: dict[str, Any] = {}
    problems: list[str] = []
    for name, action in parts:
        try:
            counts[name] = action()
        except Exception as exc:  # every part is attempted; failures are reported
            problems.append(f"{name}: {exc}")
            counts[name] = "failed"
            logger.exception("cleanup part failed", extra={"part": name})
    ledger.step_finished(
        conn,
        run_id,
        CLEANUP,
        status="failed" if problems else "succeeded",
        counts=counts,
        error="; ".join(problems) or None,
    )
    final_status = outcome if not problems or outcome != "succeeded" else "failed"
    final_error = error or ("cleanup: " + "; ".join(problems) if problems else None)
    ledger.finish_run(conn, run_id, status=final_status, error=final_error)
    return counts, problems


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


def _reset_flag(conn: psycopg.Connection, params: Params, *, success: bool) -> str:
    # LastLoadDate is the run's end (D17), as business-zone wall clock like every schema timestamp.
    run_end = datetime.now(params.zone).replace(tzinfo=None) if success else None
    reset_in_progress_flag(conn, idle=params.idle_in_progress_flag, last_load=run_end)
    return f"set to {params.idle_in_progress_flag}"


def _payer_view(
    conn: psycopg.Connection, params: Params, ctx: RunContext, cron_state: dict[str, Any] | None
) -> str:
    # With "cron", the job preflight found active (and cleanup re-enabled above) publishes the view.
    cron_refreshes = params.payer_view_refresh == "cron" and bool(cron_state and cron_state.get("active"))
    done = maintain_payer_view(
        conn,
        view=params.materialized_view_name,
        mode=params.payer_view_mode,
        now=ctx.now_local,
        refresh=not cron_refreshes,
    )
    return (
        f"{done.mode}: {done.conflicts} conflicts, {done.rows_removed} rows removed, "
        f"{done.rows_written} written; view {done.refresh}"
    )


def _maintain(conn: psycopg.Connection, tables: list[str]) -> str:
    maintain(conn, tables)
    return ",".join(tables) if tables else "none"
