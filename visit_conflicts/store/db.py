"""PostgreSQL connections bound to the target schema, and the one-transaction connection of a dry run
(`SharedTransaction`)."""

from __future__ import annotations

import re
from typing import Any

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


class SharedTransaction(psycopg.Connection[Any]):
    """A connection whose whole use is one transaction that its owner ends (a dry run rolls it back,
    `local_runner`). The steps it is lent to keep their code: their `commit()` only marks a point and
    keeps the transaction open (their `transaction()` blocks become savepoints, so a failing part still
    rolls back alone), and their `close()` leaves it open. The owner ends it with `rollback()` and
    `close_shared()`."""

    def commit(self) -> None:
        if self.autocommit:
            raise RuntimeError("a shared transaction connection is never in autocommit mode")

    def close(self) -> None:
        """Left open: the owner closes it (`close_shared`)."""

    def begin(self) -> None:
        """Open the one transaction (a statement in non-autocommit mode starts it)."""
        self.execute("SELECT 1")
        if self.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
            raise RuntimeError("the shared transaction did not open")

    def close_shared(self) -> None:
        super().close()


def is_shared_transaction(conn: psycopg.Connection) -> bool:
    """Whether `conn` is a dry run's one transaction (nothing it writes will be committed)."""
    return isinstance(conn, SharedTransaction)


def connect(
    dsn: str,
    schema: str,
    *,
    autocommit: bool = False,
    application: str = "visit-conflicts",
    connection_class: type[psycopg.Connection[Any]] = psycopg.Connection,
) -> psycopg.Connection:
    """A connection whose search_path is the target schema (then `public`, where extensions live)."""
    check_schema_name(schema)
    try:
        conn = connection_class.connect(dsn, autocommit=True, application_name=application)
    except psycopg.OperationalError as exc:
        raise StoreError(
            f"cannot connect to PostgreSQL ({exc}); check --pg-dsn or the postgres secret"
        ) from exc
    conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
    conn.autocommit = autocommit
    return conn
