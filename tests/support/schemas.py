"""A throw-away migrated schema on a test server (the `schema` fixture, and tests that need a second one)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from visit_conflicts.store.migrate import migrate


@contextmanager
def migrated_schema(dsn: str) -> Iterator[str]:
    """A fresh schema with every migration applied; dropped on exit."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn) as conn:
        migrate(conn, name)
    try:
        yield name
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
