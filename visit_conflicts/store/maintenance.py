"""PostgreSQL side of the maintenance step: scoped VACUUM (ANALYZE) (D21) and the payer view refresh.
Statements: `sql/postgres/maintenance/`. Every function needs an autocommit connection (VACUUM cannot
run in a transaction)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from visit_conflicts.observability import logger
from visit_conflicts.sql_files import read_sql


def _sql(name: str) -> str:
    return read_sql(f"postgres/maintenance/{name}.sql")


def _exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(_sql("table_exists"), {"name": name}).fetchone()
    return bool(row and row[0])


def vacuum_tables(conn: psycopg.Connection, tables: Sequence[str]) -> list[str]:
    """D21: VACUUM (ANALYZE) each of `tables` that exists; returns those done."""
    done = []
    for table in tables:
        if _exists(conn, table):
            conn.execute(sql.SQL(_sql("vacuum_table")).format(table=sql.Identifier(table)))
            done.append(table)
    return done


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
