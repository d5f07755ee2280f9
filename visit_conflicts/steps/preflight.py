"""preflight: make sure the run can succeed before anything is written, then take the run lock.

Guarantees, in this order: parameters are valid (D3, already enforced by the model); both databases
answer; every required PostgreSQL table and every Snowflake source table exists; the run context is
computed once (D1, D2) from the ledger's watermark; the run is opened in the ledger, which refuses a
second active run (D20); the pg_cron job, looked up by name, has its active state recorded and is
disabled (D18; a missing extension or job is reported as skipped); identity sequences are moved past
the largest existing id so inserts cannot collide. A failure before the lock writes nothing at all.
Rerunning preflight for a run id that is already open is refused (use a new run).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.observability import logger
from visit_conflicts.pipeline import REPORTED_TABLES
from visit_conflicts.steps import Resources, StepResult
from visit_conflicts.store import ledger

SOURCE_TABLES = (
    "FACTVISITCALLPERFORMANCE_CR",
    "FACTVISITCALLPERFORMANCE_DELETED_CR",
    "FACTCAREGIVERINSERVICE",
)
# Identity columns of the tables the pipeline inserts into.
IDENTITY_COLUMNS = (
    ("conflictvisitmaps", "ID"),
    ("conflicts", "CONFLICTID"),
    ("payer_provider_reminders", "ID"),
)


class PreflightError(RuntimeError):
    """The run cannot start; the message says what to fix."""


def check_required_tables(conn: psycopg.Connection, schema: str, tables: list[str]) -> None:
    present = {
        r[0]
        for r in conn.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm', 'v')""",
            (schema,),
        ).fetchall()
    }
    missing = [t for t in tables if t not in present]
    if missing:
        raise PreflightError(
            f"schema {schema!r} lacks required table(s) {', '.join(missing)}; "
            f"run `visit-conflicts db migrate --schema {schema}`"
        )


def check_source(res: Resources) -> None:
    try:
        with res.source_conn() as sf:
            cur = sf.cursor()
            for table in SOURCE_TABLES:
                try:
                    cur.execute(f'SELECT 1 FROM "{table}" LIMIT 1')
                    cur.fetchall()
                except Exception as exc:
                    raise PreflightError(
                        f"Snowflake source table {table} is not readable ({str(exc).splitlines()[0]}); "
                        "check the source database/schema and the role's grants"
                    ) from None
    except PreflightError:
        raise
    except Exception as exc:
        raise PreflightError(f"cannot connect to the Snowflake source: {exc}") from None


def cron_job(conn: psycopg.Connection, job_name: str) -> dict[str, Any] | None:
    """The pg_cron job by name, or None when pg_cron or the job is missing (D18: then 'skipped')."""
    has_ext = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'").fetchone()
    if not has_ext:
        return None
    row = conn.execute(
        "SELECT jobid, active FROM cron.job WHERE jobname = %s ORDER BY jobid LIMIT 1", (job_name,)
    ).fetchone()
    if row is None:
        return None
    return {"jobid": int(row[0]), "active": bool(row[1])}


def disable_cron_job(conn: psycopg.Connection, job_name: str) -> dict[str, Any]:
    """Record the job's state and disable it; the returned dict is what cleanup restores."""
    job = cron_job(conn, job_name)
    if job is None:
        return {"status": "skipped", "job_name": job_name, "reason": "pg_cron extension or job not found"}
    if job["active"]:
        conn.execute("SELECT cron.alter_job(%s, active := false)", (job["jobid"],))
    return {"status": "disabled" if job["active"] else "already inactive", "job_name": job_name, **job}


def sync_identity_sequences(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    """Move each identity sequence past the largest id (never backwards); returns the tables moved."""
    moved: dict[str, int] = {}
    for table, column in IDENTITY_COLUMNS:
        seq = conn.execute("SELECT pg_get_serial_sequence(%s, %s)", (f"{schema}.{table}", column)).fetchone()
        if not seq or not seq[0]:
            continue
        max_id = conn.execute(
            sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.Identifier(table))
        ).fetchone()
        last = conn.execute("SELECT pg_sequence_last_value(%s::regclass)", (seq[0],)).fetchone()
        if max_id and max_id[0] is not None and last and (last[0] is None or last[0] < max_id[0]):
            conn.execute("SELECT setval(%s, %s)", (seq[0], max_id[0]))
            moved[table] = int(max_id[0])
    return moved


def run(
    res: Resources,
    params: Params,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
    run_date: date | None = None,
    steps: list[str],
    full_run: bool,
) -> tuple[RunContext, StepResult]:
    with res.pg_conn(autocommit=True) as conn:
        check_required_tables(conn, res.schema, params.required_tables)
        check_required_tables(conn, res.schema, ["pipeline_run", "pipeline_run_step"])
        check_source(res)
        ctx = RunContext.create(
            params, now=now, run_id=run_id, run_date=run_date, watermark=ledger.last_watermark(conn)
        )
        ledger.start_run(conn, ctx, params, steps=steps, full_run=full_run)
        ledger.step_started(conn, ctx.run_id, "preflight")
        try:
            cron_state = disable_cron_job(conn, params.pg_cron_job_name)
            ledger.record_cron_state(conn, ctx.run_id, cron_state)
            moved = sync_identity_sequences(conn, res.schema)
            ledger.record_table_rows(
                conn, ctx.run_id, ledger.table_row_estimates(conn, res.schema, list(REPORTED_TABLES))
            )
        except Exception as exc:
            ledger.step_finished(conn, ctx.run_id, "preflight", status="failed", error=str(exc))
            raise
        result = StepResult(
            counts={"pg_cron": cron_state["status"], "sequences_moved": len(moved)},
            notes=[f"window {ctx.window_start}..{ctx.window_end}, cutoff {ctx.cutoff.isoformat()}"],
        )
        ledger.step_finished(conn, ctx.run_id, "preflight", status="succeeded", counts=result.counts)
    logger.info("preflight done", extra={"run_id": ctx.run_id, "pg_cron": cron_state})
    return ctx, result
