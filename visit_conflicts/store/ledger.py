"""The run ledger (D20): runs, steps, measured counts, the watermark (D2) and the single-run lock.

Ledger writes are committed immediately and independently of the data transactions of the steps, so a
failed step still leaves its 'failed' row and error behind for the report. Statements:
`sql/postgres/ledger/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.errors import Refusal
from visit_conflicts.sql_files import read_sql

NOT_CHUNKED = -1
# The ledger's own tables: preflight refuses to open a run without them.
LEDGER_TABLES = ("pipeline_run", "pipeline_run_step")

# How the work steps of a run ended, as the engines record it; the takeover of a dead run (and an
# operator's unlock) records 'abandoned'. The ledger's CHECK constraint admits exactly these.
Outcome = Literal["succeeded", "failed", "cancelled", "abandoned"]


class RunLockedError(Refusal):
    """Another run is active; runs are refused, never queued (D20)."""


class RunNotOpenError(RuntimeError):
    """A step was asked to run for a run that is not open ('running') and so does not hold the lock."""


@dataclass(frozen=True)
class StepRecord:
    step: str
    chunk: int
    status: str
    attempt: int
    started_at: datetime
    ended_at: datetime | None
    counts: dict[str, Any]
    error: str | None


def _sql(name: str) -> str:
    return read_sql(f"postgres/ledger/{name}.sql")


def _commit(conn: psycopg.Connection) -> None:
    if not conn.autocommit:
        conn.commit()


def last_watermark(conn: psycopg.Connection) -> datetime | None:
    """D2: the start of the last successful full run (None before the first one)."""
    row = conn.execute(_sql("last_watermark")).fetchone()
    _commit(conn)
    return row[0] if row else None


def active_run(conn: psycopg.Connection) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_sql("active_run")).fetchone()
    _commit(conn)
    return row


def start_run(
    conn: psycopg.Connection,
    ctx: RunContext,
    params: Params,
    *,
    steps: list[str],
    full_run: bool,
    dry_run: bool = False,
) -> None:
    """Open the run; refuse with RunLockedError when another run is active (the lock of D20)."""
    try:
        with conn.transaction():
            conn.execute(
                _sql("start_run"),
                {
                    "run_id": ctx.run_id,
                    "environment": params.environment,
                    "full_run": full_run,
                    "started_at": ctx.now,
                    "run_date": ctx.run_date,
                    "window_start": ctx.window_start,
                    "window_end": ctx.window_end,
                    "cutoff": ctx.cutoff,
                    "watermark": ctx.watermark,
                    "params": Jsonb(json.loads(params.model_dump_json(by_alias=True))),
                    "context": Jsonb(ctx.to_json()),
                    "steps": steps,
                    "dry_run": dry_run,
                },
            )
    except psycopg.errors.UniqueViolation as exc:
        other = active_run(conn)
        if other is None or exc.diag.constraint_name == "pipeline_run_pkey":
            raise RunLockedError(f"run id {ctx.run_id!r} was already used; start a new run") from None
        raise RunLockedError(refusal(other)) from None
    _commit(conn)


def _update(conn: psycopg.Connection, statement: str, params: dict[str, Any]) -> int:
    cur = conn.execute(_sql(statement), params)
    _commit(conn)
    return cur.rowcount


def refusal(active: dict[str, Any]) -> str:
    """Why a run is refused while `active` (a row of `active_run`) runs, and what to do."""
    return (
        f"run {active['run_id']} ({active['environment']}) is still active since "
        f"{active['started_at']:%Y-%m-%d %H:%M:%S %Z}; a second run is refused. Wait for it to end; if its "
        f"owner is gone the next run takes it over, or release it with `visit-conflicts unlock "
        f"{active['run_id']}`"
    )


def record_owner(
    conn: psycopg.Connection, run_id: str, owner: dict[str, Any] | None, took_over: dict[str, Any] | None
) -> None:
    """Who runs the run, and the dead run it took over, if any (D20 amended)."""
    _update(
        conn,
        "record_owner",
        {
            "owner": Jsonb(owner) if owner else None,
            "took_over": Jsonb(took_over) if took_over else None,
            "run_id": run_id,
        },
    )


def record_cron_state(conn: psycopg.Connection, run_id: str, state: dict[str, Any]) -> None:
    _update(conn, "record_cron_state", {"state": Jsonb(state), "run_id": run_id})


def table_row_estimates(conn: psycopg.Connection, schema: str, tables: list[str]) -> dict[str, int]:
    """D21: row counts from the planner statistics (pg_class.reltuples), never COUNT(*) on big tables."""
    rows = conn.execute(_sql("table_row_estimates"), {"schema": schema, "tables": tables}).fetchall()
    _commit(conn)
    return {name: int(n) for name, n in rows}


def record_table_rows(conn: psycopg.Connection, run_id: str, rows: dict[str, int]) -> None:
    _update(conn, "record_table_rows", {"rows": Jsonb(rows), "run_id": run_id})


def step_started(conn: psycopg.Connection, run_id: str, step: str, chunk: int = NOT_CHUNKED) -> int:
    """Record a step (or chunk) start; a rerun of the same step bumps its attempt. Returns the attempt.

    Refused with RunNotOpenError unless the run is 'running' (it holds the lock): nothing may write for a
    run that was closed or never opened."""
    row = conn.execute(_sql("step_started"), {"run_id": run_id, "step": step, "chunk": chunk}).fetchone()
    _commit(conn)
    if row is None:
        raise RunNotOpenError(_not_open_message(conn, run_id, step))
    return int(row[0])


def _not_open_message(conn: psycopg.Connection, run_id: str, step: str) -> str:
    run = get_run(conn, run_id)
    if run is None:
        return (
            f"step {step} refused: run {run_id!r} was never opened (preflight did not run or refused "
            f"it); start a new execution"
        )
    return (
        f"step {step} refused: run {run_id!r} is closed ({run['status']}), so it no longer holds the lock "
        f"and pg_cron may be active again; a closed run cannot be resumed (redrive is not supported). "
        f'Start a new execution with {{"params": {{"steps": ["{step}", ...the steps after it]}}}}'
    )


def step_finished(
    conn: psycopg.Connection,
    run_id: str,
    step: str,
    *,
    status: str,
    counts: dict[str, Any] | None = None,
    error: str | None = None,
    chunk: int = NOT_CHUNKED,
) -> None:
    _update(
        conn,
        "step_finished",
        {
            "status": status,
            "counts": Jsonb(counts or {}),
            "error": error,
            "run_id": run_id,
            "step": step,
            "chunk": chunk,
        },
    )


def record_outcome(conn: psycopg.Connection, run_id: str, outcome: Outcome, error: str | None) -> None:
    """How the run's work steps ended, recorded by the engine for the closing step (a no-op once the run
    is closed)."""
    _update(conn, "record_outcome", {"outcome": outcome, "error": error, "run_id": run_id})


def finish_run(conn: psycopg.Connection, run_id: str, *, status: str, error: str | None = None) -> None:
    """Close the run (frees the lock)."""
    _update(conn, "finish_run", {"status": status, "error": error, "run_id": run_id})


def store_report(conn: psycopg.Connection, run_id: str, report: dict[str, Any]) -> None:
    _update(conn, "store_report", {"report": Jsonb(report), "run_id": run_id})


def get_run(conn: psycopg.Connection, run_id: str | None = None) -> dict[str, Any] | None:
    """One run (the latest when `run_id` is None)."""
    with conn.cursor(row_factory=dict_row) as cur:
        if run_id is None:
            row = cur.execute(_sql("select_latest_run")).fetchone()
        else:
            row = cur.execute(_sql("select_run"), {"run_id": run_id}).fetchone()
    _commit(conn)
    return row


def get_steps(conn: psycopg.Connection, run_id: str) -> list[StepRecord]:
    rows = conn.execute(_sql("select_steps"), {"run_id": run_id}).fetchall()
    _commit(conn)
    return [StepRecord(*row) for row in rows]


def step_status(conn: psycopg.Connection, run_id: str, step: str) -> dict[int, str]:
    """Status of each chunk (or -1) of a step in a run."""
    rows = conn.execute(_sql("select_step_status"), {"run_id": run_id, "step": step}).fetchall()
    _commit(conn)
    return {int(c): s for c, s in rows}


def record_would_change(conn: psycopg.Connection, run_id: str, would_change: dict[str, Any]) -> None:
    """A dry run's summary of what it would have changed (`store.events.would_change`)."""
    conn.execute(_sql("record_would_change"), {"run_id": run_id, "would_change": Jsonb(would_change)})
    _commit(conn)
