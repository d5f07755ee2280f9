"""PostgreSQL side of the restore step: short statements only (D17, D19). The in-progress flag, the
run's scratch rows and the session limits that keep restore from waiting on a long operation.
Statements: `sql/postgres/restore/`; pg_cron is `store/pg_cron.py`, the run's closing `store/ledger.py`."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql

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
    """Drop the run's scope and seen keys (after the run is closed); returns the rows removed."""
    conn.execute(_sql("purge_limits").encode())
    deleted = 0
    for table in SCRATCH_TABLES:
        cur = conn.execute(
            sql.SQL(_sql("purge_scratch")).format(table=sql.Identifier(table)), {"run_id": run_id}
        )
        deleted += max(cur.rowcount, 0)
    return deleted
