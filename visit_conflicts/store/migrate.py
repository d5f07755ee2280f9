"""Numbered schema migrations (`sql/postgres/migrations/NNNN_name.sql`), applied once each.

Each file runs in its own transaction with `search_path` set to the target schema, so the files use
unqualified table names and one set of files serves any schema name (`conflict_dev`, test schemas).
Applied versions are recorded in `schema_migrations`; running `migrate` again applies only new files.
A transaction-level advisory lock serialises concurrent `db migrate` calls on the same database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from visit_conflicts.paths import PG_MIGRATIONS_DIR
from visit_conflicts.store.db import check_schema_name

_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 7_310_441_001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path = PG_MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _FILE_RE.match(path.name)
        if not m:
            raise ValueError(f"migration file {path.name} does not match NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}")
    return found


def migrate(conn: psycopg.Connection, schema: str, directory: Path = PG_MIGRATIONS_DIR) -> list[str]:
    """Create or upgrade `schema`; returns the names of the migrations applied by this call."""
    check_schema_name(schema)
    ident = sql.Identifier(schema)
    applied: list[str] = []
    conn.autocommit = False
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(ident)
        )
    for migration in discover(directory):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            done = conn.execute(
                sql.SQL("SELECT 1 FROM {}.schema_migrations WHERE version = %s").format(ident),
                (migration.version,),
            ).fetchone()
            if done:
                continue
            conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(ident))
            conn.execute(migration.path.read_text().encode())
            conn.execute(
                sql.SQL("INSERT INTO {}.schema_migrations (version, name) VALUES (%s, %s)").format(ident),
                (migration.version, migration.name),
            )
            applied.append(f"{migration.version:04d}_{migration.name}")
    return applied
