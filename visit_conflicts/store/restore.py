"""PostgreSQL side of the restore step: short statements only (D17, D19). The in-progress flag, the
run's scratch rows and the session limits that keep restore from waiting on a long operation.
Statements: `sql/postgres/restore/`; pg_cron is `store/pg_cron.py`, the run's closing `store/ledger.py`."""

from __future__ import annotations

from datetime import datetime

import psycopg

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.scratch import purge_run_rows

SCRATCH_TABLES = ("run_scope_group", "run_seen_pair")


def _sql(name: str) -> str:
    return read_sql(f"postgres/restore/{name}.sql")


def limit_waits(conn: psycopg.Connection) -> None:
    """Lock and statement timeouts for the rest of the session (see session_limits.sql)."""
    conn.execute(_sql("session_limits").encode())


def reset_in_progress_flag(conn: psycopg.Connection, *, idle: int, last_load: datetime | None) -> None:
    """D17: `InProgressFlag` to the idle value; `LastLoadDate` to `last_load` when given (success)."""
    conn.execute(_sql("reset_in_progress_flag"), {"idle": idle, "last_load": last_load})


def purge_scratch(conn: psycopg.Connection, run_id: str) -> int:
    """Drop the run's scope and seen keys (after the run is closed); returns the rows removed. A table
    that holds this run's rows only is truncated (`store.scratch.purge_run_rows`)."""
    conn.execute(_sql("purge_limits").encode())
    return sum(purge_run_rows(conn, table, run_id) for table in SCRATCH_TABLES)
