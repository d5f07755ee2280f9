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
    """Drop the run's scope and seen keys (after the run is closed); returns the rows removed.

    A table that holds this run's rows only is emptied with TRUNCATE. A DELETE leaves the pages to a
    VACUUM, which frees them but gives the space back only from an empty tail, and never shrinks an
    index: after a first load (millions of scope groups) every later night's COPY, ANALYZE and scans of
    these tables paid for the load's pages (measured at SF 0.1: a 387 MB run_scope_group, ~2 s a
    night). When another session holds the table, or another run has rows in it, the run's rows are
    deleted instead."""
    conn.execute(_sql("purge_limits").encode())
    return sum(_purge_table(conn, sql.Identifier(table), run_id) for table in SCRATCH_TABLES)


def _purge_table(conn: psycopg.Connection, table: sql.Identifier, run_id: str) -> int:
    params = {"run_id": run_id}
    try:
        with conn.transaction():
            conn.execute(sql.SQL(_sql("lock_scratch")).format(table=table))
            row = conn.execute(sql.SQL(_sql("count_scratch")).format(table=table), params).fetchone()
            mine, others = (int(row[0]), int(row[1])) if row else (0, 0)
            if not others:
                conn.execute(sql.SQL(_sql("truncate_scratch")).format(table=table))
                return mine
    except psycopg.errors.LockNotAvailable:
        pass  # in use: delete this run's rows without waiting for the table
    cur = conn.execute(sql.SQL(_sql("purge_scratch")).format(table=table), params)
    return max(cur.rowcount, 0)
