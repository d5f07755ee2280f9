"""PostgreSQL side of the preflight step: the required-table check and the identity-sequence sync.
Statements: `sql/postgres/preflight/`."""

from __future__ import annotations

from collections.abc import Collection

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql

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
