"""PostgreSQL side of the preflight step: the required-table check and the identity-sequence sync.
Statements: `sql/postgres/preflight/`."""

from __future__ import annotations

from collections.abc import Collection

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.migrate import discover

# Identity columns of the tables the pipeline inserts into.
IDENTITY_COLUMNS = (
    ("conflictvisitmaps", "ID"),
    ("conflicts", "CONFLICTID"),
    ("payer_provider_reminders", "ID"),
)


def missing_tables(conn: psycopg.Connection, schema: str, tables: Collection[str]) -> list[str]:
    """The names of `tables` that the schema lacks, in their order."""
    present = {
        r[0] for r in conn.execute(read_sql("postgres/preflight/select_tables.sql"), {"schema": schema})
    }
    return [t for t in tables if t not in present]


def schema_version(conn: psycopg.Connection, schema: str) -> int | None:
    """The highest migration version applied to `schema` (None: no migration recorded)."""
    statement = sql.SQL(read_sql("postgres/preflight/select_schema_version.sql")).format(
        schema=sql.Identifier(schema)
    )
    try:
        row = conn.execute(statement).fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return None if row is None or row[0] is None else int(row[0])


def code_schema_version() -> int:
    """The highest migration this code ships (sql/postgres/migrations/)."""
    return max(m.version for m in discover())


def sync_identity_sequences(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    """Move each identity sequence past the largest id (never backwards); returns the tables moved."""
    template = sql.SQL(read_sql("postgres/preflight/select_identity_sequence.sql"))
    moved: dict[str, int] = {}
    for table, column in IDENTITY_COLUMNS:
        statement = template.format(column=sql.Identifier(column), table=sql.Identifier(table))
        row = conn.execute(statement, {"table": f"{schema}.{table}", "column": column}).fetchone()
        if row is None:
            continue
        sequence, last, max_id = row
        if max_id is not None and (last is None or last < max_id):
            conn.execute(
                read_sql("postgres/preflight/move_sequence.sql"), {"sequence": sequence, "max_id": max_id}
            )
            moved[table] = int(max_id)
    return moved
