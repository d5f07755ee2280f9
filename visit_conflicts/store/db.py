"""PostgreSQL connections bound to the target schema."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from visit_conflicts.errors import Refusal

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreError(Refusal):
    """The PostgreSQL target is unusable; the message says what to fix."""


def check_schema_name(schema: str) -> str:
    """Schema names are lower-case identifiers; anything else is refused before it reaches SQL."""
    if not _SCHEMA_RE.match(schema):
        raise StoreError(
            f"schema name {schema!r} is not allowed: use lower-case letters, digits and '_' (max 63)"
        )
    return schema


def connect(
    dsn: str, schema: str, *, autocommit: bool = False, application: str = "visit-conflicts"
) -> psycopg.Connection:
    """A connection whose search_path is the target schema (then `public`, where extensions live)."""
    check_schema_name(schema)
    try:
        conn = psycopg.connect(dsn, autocommit=True, application_name=application)
    except psycopg.OperationalError as exc:
        raise StoreError(
            f"cannot connect to PostgreSQL ({exc}); check --pg-dsn or the postgres secret"
        ) from exc
    conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
    conn.autocommit = autocommit
    return conn
