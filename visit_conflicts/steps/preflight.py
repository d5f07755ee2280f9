"""preflight: make sure the run can succeed before anything is written, then take the run lock.

Guarantees, in this order: parameters are valid (D3, already enforced by the model); both databases
answer; the target schema is migrated at least to the code's highest migration (a schema behind the code
is refused: "run db migrate"); every required PostgreSQL table and every Snowflake source table exists;
the run context is computed once (D1, D2) from the ledger's watermark and handed on in the result; the
run is opened in the ledger, which refuses a second active run (D20) unless its owner is provably gone:
then that run's cleanup is performed first and it is marked 'abandoned' (D20 amended,
`take_over_dead_run`; deciding and opening are serialised, so two runs never both take over); the run's
owner is recorded; the pg_cron job, looked up by name, has its active state recorded and is disabled
(D18; a missing extension or job is reported as skipped); identity sequences are moved past the largest
existing id so inserts cannot collide. A failure before the lock writes nothing at all. Rerunning
preflight for a run id that is already open is refused (use a new run).

The context it is given carries the run's identity (run id, start, run date); the one it returns adds the
watermark and the cutoff derived from it.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from visit_conflicts.config import Params, params_of_run
from visit_conflicts.context import RunContext
from visit_conflicts.errors import Refusal
from visit_conflicts.observability import logger
from visit_conflicts.ownership import RunOwner, gone_reason, opening_runs_serialised
from visit_conflicts.pipeline import REPORTED_TABLES, selected_work_steps
from visit_conflicts.source.preflight import SourceTableUnreadable, check_source_tables
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.step_runner import close_run
from visit_conflicts.store import ledger
from visit_conflicts.store.pg_cron import disable_cron_job
from visit_conflicts.store.preflight import (
    code_schema_version,
    missing_tables,
    schema_version,
    sync_identity_sequences,
)

PREFLIGHT = "preflight"


class PreflightError(Refusal):
    """The run cannot start; the message says what to fix."""


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    steps = [s.name for s in selected_work_steps(params.steps)]
    if params.dry_run != res.dry_run:
        # A dry run's writes are rolled back only by the engine that holds its one transaction (the
        # local runner): anywhere else `dry_run` would write for real under a dry-run ledger row.
        raise PreflightError(
            "dry_run is for the local runner only (`visit-conflicts run --dry-run`); "
            "remove it from the parameters"
            if params.dry_run
            else "these resources roll their work back (a dry run): set dry_run in the parameters"
        )
    with res.pg_conn(autocommit=True) as conn:
        check_schema_version(schema_version(conn, res.schema), code_schema_version(), res.schema)
        for tables in (params.required_tables, ledger.LEDGER_TABLES):
            missing = missing_tables(conn, res.schema, tables)
            if missing:
                raise PreflightError(
                    f"schema {res.schema!r} lacks required table(s) {', '.join(missing)}; "
                    f"run `visit-conflicts db migrate --schema {res.schema}`"
                )
        check_source(res)
        with opening_runs_serialised(conn, res.schema):
            # A dry run takes nothing over (that would write pg_cron and the flag): it is refused by the
            # lock like any run that meets an active one.
            took_over = None if params.dry_run else take_over_dead_run(res, conn, ctx.run_id)
            opened = RunContext.create(
                params,
                now=ctx.now,
                run_id=ctx.run_id,
                run_date=ctx.run_date,
                watermark=ledger.last_watermark(conn),
            )
            ledger.start_run(
                conn, opened, params, steps=steps, full_run=params.steps is None, dry_run=params.dry_run
            )
            ledger.record_owner(conn, opened.run_id, res.owner.to_json() if res.owner else None, took_over)
            ledger.step_started(conn, opened.run_id, PREFLIGHT)
            try:
                if params.dry_run:
                    # Left as they are: pg_cron keeps running, and the sequences (whose moves no
                    # rollback undoes) are moved by the next real run.
                    cron_state = {
                        "status": "skipped",
                        "job_name": params.pg_cron_job_name,
                        "reason": "dry run",
                    }
                    moved: dict[str, int] = {}
                else:
                    cron_state = disable_cron_job(conn, params.pg_cron_job_name)
                    moved = sync_identity_sequences(conn, res.schema)
                ledger.record_cron_state(conn, opened.run_id, cron_state)
                ledger.record_table_rows(
                    conn, opened.run_id, ledger.table_row_estimates(conn, res.schema, list(REPORTED_TABLES))
                )
            except Exception as exc:
                ledger.step_finished(conn, opened.run_id, PREFLIGHT, status="failed", error=str(exc))
                raise
        counts: dict[str, object] = {"pg_cron": cron_state["status"], "sequences_moved": len(moved)}
        notes = [f"window {opened.window_start}..{opened.window_end}, cutoff {opened.cutoff.isoformat()}"]
        if took_over:
            counts["took_over"] = took_over["run_id"]
            notes.append(f"took over run {took_over['run_id']}: {took_over['reason']}")
        result = StepResult(counts=counts, notes=notes, context=opened)
        ledger.step_finished(conn, opened.run_id, PREFLIGHT, status="succeeded", counts=result.counts)
    logger.info("preflight done", extra={"run_id": opened.run_id, "pg_cron": cron_state})
    return result


def take_over_dead_run(res: Resources, conn: psycopg.Connection, run_id: str) -> dict[str, Any] | None:
    """D20 amended: when the active run's owner is provably gone, perform its cleanup (pg_cron,
    InProgressFlag, its report) with its own parameters and mark it 'abandoned'; returns what was taken
    over (run id, reason, seconds), or None when there is no active run or it may be alive (then opening
    this run is refused as before)."""
    active = ledger.active_run(conn)
    if active is None:
        return None
    owner = RunOwner.from_json(active["owner"]) if active.get("owner") else None
    reason = gone_reason(conn, owner)
    if reason is None:
        return None
    started = time.perf_counter()
    dead = ledger.get_run(conn, active["run_id"])
    assert dead is not None
    logger.warning("taking over a dead run", extra={"dead_run": active["run_id"], "reason": reason})
    close_run(
        res,
        params_of_run(dead["params"]),
        active["run_id"],
        outcome="abandoned",
        error=f"abandoned: {reason}; taken over by run {run_id}",
    )
    return {"run_id": active["run_id"], "reason": reason, "seconds": round(time.perf_counter() - started, 3)}


def check_schema_version(applied: int | None, code: int, schema: str) -> None:
    """Refuse a schema whose migrations are behind the code's (its statements would fail half-way)."""
    if applied is None or applied < code:
        have = "no recorded migration" if applied is None else f"migration {applied:04d}"
        raise PreflightError(
            f"schema {schema!r} has {have} but this code needs {code:04d}; run db migrate "
            f"(`visit-conflicts db migrate --schema {schema}`, or in AWS the migrate state machine, see "
            "docs/runbook.md) and start the run again"
        )


def check_source(res: Resources) -> None:
    """The Snowflake source answers and has its tables (D23: stop before any write, say what to fix)."""
    try:
        with res.source_conn() as sf:
            check_source_tables(sf)
    except SourceTableUnreadable as exc:
        raise PreflightError(str(exc)) from None
    except Exception as exc:
        raise PreflightError(f"cannot connect to the Snowflake source: {exc}") from None
