"""PostgreSQL side of the cleanup step: the in-progress flag (D17), scoped maintenance (D21), the payer
view refresh and the run's scratch rows. Statements: `sql/postgres/cleanup/`. Every function needs an
autocommit connection (VACUUM cannot run in a transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql

from visit_conflicts.observability import logger
from visit_conflicts.sql_files import read_sql

SCRATCH_TABLES = ("run_scope_group", "run_seen_pair")


def _sql(name: str) -> str:
    return read_sql(f"postgres/cleanup/{name}.sql")


def reset_in_progress_flag(conn: psycopg.Connection, *, idle: int, last_load: datetime | None) -> None:
    """D17: `InProgressFlag` to the idle value; `LastLoadDate` to `last_load` when given (success)."""
    conn.execute(_sql("reset_in_progress_flag"), {"idle": idle, "last_load": last_load})


def _exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(_sql("table_exists"), {"name": name}).fetchone()
    return bool(row and row[0])


def maintain(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """D21: VACUUM (ANALYZE) only the tables this run wrote."""
    for table in tables:
        if _exists(conn, table):
            conn.execute(sql.SQL(_sql("vacuum_table")).format(table=sql.Identifier(table)))


def refresh_view(conn: psycopg.Connection, view: str) -> str:
    """Refresh the payer view concurrently (a plain refresh as fallback); returns what was done."""
    if not _exists(conn, view):
        return "skipped (view missing)"
    ident = sql.Identifier(view)
    try:
        conn.execute(sql.SQL(_sql("refresh_view_concurrently")).format(view=ident))
        return "refreshed concurrently"
    except psycopg.Error as exc:
        logger.warning(
            "concurrent refresh failed, falling back to a plain refresh", extra={"error": str(exc)}
        )
        conn.execute(sql.SQL(_sql("refresh_view")).format(view=ident))
        return "refreshed (plain)"


def purge_scratch(conn: psycopg.Connection, run_id: str) -> int:
    """Drop the run's scope and seen keys; returns the rows removed."""
    deleted = 0
    for table in SCRATCH_TABLES:
        cur = conn.execute(
            sql.SQL(_sql("purge_scratch")).format(table=sql.Identifier(table)), {"run_id": run_id}
        )
        deleted += max(cur.rowcount, 0)
    return deleted
