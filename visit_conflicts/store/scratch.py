"""Emptying a run's rows from the run-keyed scratch tables (scope groups, seen keys, InService scope).

These tables are filled and emptied every run. A DELETE leaves the pages to a VACUUM, which frees them
but gives space back only from an empty tail and never shrinks an index: after a first load (millions
of scope rows) every later night's COPY, ANALYZE and scans paid for the load's pages (measured at
SF 0.1: a 387 MB `run_scope_group` and a 517 MB index of `run_inservice_scope_event` with no row left,
~2 s a night). So a table that holds only this run's rows is emptied with TRUNCATE, which gives the
table's and its indexes' pages back at once. When another session holds the table (NOWAIT: never
waited for) or another run has rows in it, the run's rows are deleted instead.
Statements: `sql/postgres/scratch/`.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql


def _sql(name: str, table: str) -> sql.Composed:
    return sql.SQL(read_sql(f"postgres/scratch/{name}.sql")).format(table=sql.Identifier(table))


def purge_run_rows(conn: psycopg.Connection, table: str, run_id: str) -> int:
    """Remove `run_id`'s rows from `table` (TRUNCATE when they are all it holds); returns how many.
    Inside the caller's transaction the TRUNCATE is part of it (a savepoint; rolled back with it)."""
    params = {"run_id": run_id}
    try:
        with conn.transaction():
            conn.execute(_sql("lock", table))
            row = conn.execute(_sql("count", table), params).fetchone()
            mine, others = (int(row[0]), int(row[1])) if row else (0, 0)
            if not others:
                conn.execute(_sql("truncate", table))
                return mine
    except psycopg.errors.LockNotAvailable:
        pass  # in use: delete this run's rows without waiting for the table
    cur = conn.execute(_sql("delete", table), params)
    return max(cur.rowcount, 0)
