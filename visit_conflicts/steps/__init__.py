"""Pipeline steps. Each module is one state-machine step with `run(res, ctx, params, ...) -> StepResult`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from visit_conflicts.store.db import connect


@dataclass
class StepResult:
    """What a step reports: measured counts (D13) and a status. Small enough for a state machine payload."""

    counts: dict[str, Any] = field(default_factory=dict)
    status: str = "succeeded"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "counts": self.counts, "notes": self.notes}


@dataclass
class Resources:
    """How a step reaches the two databases. Credentials stay in here, never in results or logs."""

    pg_dsn: str
    schema: str
    source_dir: Path | None = None
    snowflake_credentials: dict[str, Any] | None = None
    # Reads the Snowflake secret on first use, so steps that never query Snowflake (cleanup) never
    # need it.
    credentials_loader: Callable[[], dict[str, Any]] | None = None
    # Set when the run is cancelled; long steps check it between batches and stop cleanly.
    cancel: threading.Event | None = None

    def pg(self, *, autocommit: bool = False) -> psycopg.Connection:
        return connect(self.pg_dsn, self.schema, autocommit=autocommit)

    @contextmanager
    def pg_conn(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        conn = self.pg(autocommit=autocommit)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def source_conn(self) -> Iterator[Any]:
        from visit_conflicts.source.connection import connect_source

        if self.source_dir is None and self.snowflake_credentials is None and self.credentials_loader:
            self.snowflake_credentials = self.credentials_loader()
        conn = connect_source(self.source_dir, credentials=self.snowflake_credentials)
        try:
            yield conn
        finally:
            conn.close()
