"""The pg_cron job that refreshes the payer view (D18): looked up by name, disabled by preflight for the
run and restored by the restore step to exactly the state preflight recorded. A missing extension or job is
"skipped", not an error. Statements: `sql/postgres/pg_cron/`."""

from __future__ import annotations

from typing import Any

import psycopg

from visit_conflicts.sql_files import read_sql


def _sql(name: str) -> str:
    return read_sql(f"postgres/pg_cron/{name}.sql")


def has_pg_cron(conn: psycopg.Connection) -> bool:
    return conn.execute(_sql("has_extension")).fetchone() is not None


def cron_job(conn: psycopg.Connection, job_name: str) -> dict[str, Any] | None:
    """The pg_cron job by name, or None when pg_cron or the job is missing (D18: then 'skipped')."""
    if not has_pg_cron(conn):
        return None
    row = conn.execute(_sql("select_job"), {"job_name": job_name}).fetchone()
    if row is None:
        return None
    return {"jobid": int(row[0]), "active": bool(row[1])}


def disable_cron_job(conn: psycopg.Connection, job_name: str) -> dict[str, Any]:
    """Record the job's state and disable it; the returned dict is what `restore_cron_job` restores."""
    job = cron_job(conn, job_name)
    if job is None:
        return {"status": "skipped", "job_name": job_name, "reason": "pg_cron extension or job not found"}
    if job["active"]:
        conn.execute(_sql("alter_job"), {"jobid": job["jobid"], "active": False})
    return {"status": "disabled" if job["active"] else "already inactive", "job_name": job_name, **job}


def restore_cron_job(conn: psycopg.Connection, state: dict[str, Any] | None) -> str:
    """Put the job back exactly as it was before the run (D18)."""
    if not state or state.get("status") == "skipped" or not has_pg_cron(conn):
        return "skipped"
    conn.execute(_sql("alter_job"), {"jobid": state["jobid"], "active": bool(state["active"])})
    return "re-enabled" if state["active"] else "left inactive"
