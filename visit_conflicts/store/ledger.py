"""The run ledger (D20): runs, steps, measured counts, the watermark (D2) and the single-run lock.

Ledger writes are committed immediately and independently of the data transactions of the steps, so a
failed step still leaves its 'failed' row and error behind for the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext

NOT_CHUNKED = -1


class RunLockedError(RuntimeError):
    """Another run is active; runs are refused, never queued (D20)."""


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


def _commit(conn: psycopg.Connection) -> None:
    if not conn.autocommit:
        conn.commit()


def last_watermark(conn: psycopg.Connection) -> datetime | None:
    """D2: the start of the last successful full run (None before the first one)."""
    row = conn.execute(
        "SELECT max(started_at) FROM pipeline_run WHERE status = 'succeeded' AND full_run"
    ).fetchone()
    _commit(conn)
    return row[0] if row else None


def active_run(conn: psycopg.Connection) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT run_id, started_at, environment FROM pipeline_run WHERE status = 'running'"
        ).fetchone()
    _commit(conn)
    return row


def start_run(
    conn: psycopg.Connection, ctx: RunContext, params: Params, *, steps: list[str], full_run: bool
) -> None:
    """Open the run; refuse with RunLockedError when another run is active (the lock of D20)."""
    try:
        with conn.transaction():
            conn.execute(
                """INSERT INTO pipeline_run (run_id, environment, status, full_run, started_at, run_date,
                       window_start, window_end, cutoff, watermark, params, context, steps)
                   VALUES (%s, %s, 'running', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (
                    ctx.run_id,
                    params.environment,
                    full_run,
                    ctx.now,
                    ctx.run_date,
                    ctx.window_start,
                    ctx.window_end,
                    ctx.cutoff,
                    ctx.watermark,
                    Jsonb(json.loads(params.model_dump_json(by_alias=True))),
                    Jsonb(ctx.to_json()),
                    steps,
                ),
            )
    except psycopg.errors.UniqueViolation as exc:
        other = active_run(conn)
        if other is None or exc.diag.constraint_name == "pipeline_run_pkey":
            raise RunLockedError(f"run id {ctx.run_id!r} was already used; start a new run") from None
        raise RunLockedError(
            f"run {other['run_id']} ({other['environment']}) is still active since "
            f"{other['started_at']:%Y-%m-%d %H:%M:%S %Z}; a second run is refused. Wait for it to end, or if "
            f"its process is gone, release it with `visit-conflicts unlock {other['run_id']}`"
        ) from None
    _commit(conn)


def record_cron_state(conn: psycopg.Connection, run_id: str, state: dict[str, Any]) -> None:
    conn.execute("UPDATE pipeline_run SET pg_cron_state = %s WHERE run_id = %s", (Jsonb(state), run_id))
    _commit(conn)


def table_row_estimates(conn: psycopg.Connection, schema: str, tables: list[str]) -> dict[str, int]:
    """D21: row counts from the planner statistics (pg_class.reltuples), never COUNT(*) on big tables."""
    rows = conn.execute(
        """SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relname = ANY(%s)""",
        (schema, tables),
    ).fetchall()
    _commit(conn)
    return {name: int(n) for name, n in rows}


def record_table_rows(conn: psycopg.Connection, run_id: str, rows: dict[str, int]) -> None:
    conn.execute("UPDATE pipeline_run SET table_rows_before = %s WHERE run_id = %s", (Jsonb(rows), run_id))
    _commit(conn)


def step_started(conn: psycopg.Connection, run_id: str, step: str, chunk: int = NOT_CHUNKED) -> int:
    """Record a step (or chunk) start; a rerun of the same step bumps its attempt. Returns the attempt."""
    row = conn.execute(
        """INSERT INTO pipeline_run_step (run_id, step, chunk, status, started_at)
           VALUES (%s, %s, %s, 'running', clock_timestamp())
           ON CONFLICT (run_id, step, chunk) DO UPDATE
             SET status = 'running', attempt = pipeline_run_step.attempt + 1,
                 started_at = clock_timestamp(), ended_at = NULL, error = NULL, counts = '{}'::jsonb
           RETURNING attempt""",
        (run_id, step, chunk),
    ).fetchone()
    _commit(conn)
    assert row is not None
    return int(row[0])


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
    conn.execute(
        """UPDATE pipeline_run_step SET status = %s, ended_at = clock_timestamp(), counts = %s, error = %s
           WHERE run_id = %s AND step = %s AND chunk = %s""",
        (status, Jsonb(counts or {}), error, run_id, step, chunk),
    )
    _commit(conn)


def finish_run(
    conn: psycopg.Connection,
    run_id: str,
    *,
    status: str,
    error: str | None = None,
    report: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        """UPDATE pipeline_run SET status = %s, ended_at = clock_timestamp(), error = %s,
                  report = COALESCE(%s, report)
           WHERE run_id = %s""",
        (status, error, Jsonb(report) if report is not None else None, run_id),
    )
    _commit(conn)


def abandon_run(conn: psycopg.Connection, run_id: str) -> bool:
    """Mark a dead 'running' run as cancelled so the lock is free again. True when a row changed."""
    cur = conn.execute(
        """UPDATE pipeline_run SET status = 'cancelled', ended_at = clock_timestamp(),
                  error = COALESCE(error, 'released by operator (process gone)')
           WHERE run_id = %s AND status = 'running'""",
        (run_id,),
    )
    _commit(conn)
    return cur.rowcount == 1


def get_run(conn: psycopg.Connection, run_id: str | None = None) -> dict[str, Any] | None:
    """One run (the latest when `run_id` is None)."""
    with conn.cursor(row_factory=dict_row) as cur:
        if run_id is None:
            row = cur.execute("SELECT * FROM pipeline_run ORDER BY started_at DESC LIMIT 1").fetchone()
        else:
            row = cur.execute("SELECT * FROM pipeline_run WHERE run_id = %s", (run_id,)).fetchone()
    _commit(conn)
    return row


def get_steps(conn: psycopg.Connection, run_id: str) -> list[StepRecord]:
    rows = conn.execute(
        """SELECT step, chunk, status, attempt, started_at, ended_at, counts, error
           FROM pipeline_run_step WHERE run_id = %s ORDER BY started_at, chunk""",
        (run_id,),
    ).fetchall()
    _commit(conn)
    return [StepRecord(*row) for row in rows]


def step_status(conn: psycopg.Connection, run_id: str, step: str) -> dict[int, str]:
    """Status of each chunk (or -1) of a step in a run."""
    rows = conn.execute(
        "SELECT chunk, status FROM pipeline_run_step WHERE run_id = %s AND step = %s", (run_id, step)
    ).fetchall()
    _commit(conn)
    return {int(c): s for c, s in rows}
