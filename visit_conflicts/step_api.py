"""The calling convention of a step, shared by every step and both engines.

Every step module (`visit_conflicts/steps/<step>.py`) has `run(res, ctx, params) -> StepResult`; the step
mapped over chunks takes `chunk=N` as well. `Resources` is how a step reaches the two databases,
`StepResult` what it reports, and `Cancelled` / `check_cancelled` how a long step stops cleanly when the
run is cancelled. This module sits below the steps and the engines: it imports no step and no engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from visit_conflicts.store.db import SharedTransaction, connect

if TYPE_CHECKING:
    from visit_conflicts.context import RunContext
    from visit_conflicts.ownership import RunOwner


class Cancelled(RuntimeError):
    """The run was cancelled (Ctrl-C, SIGTERM, Step Functions stop)."""


def check_cancelled(cancel: threading.Event | None) -> None:
    """Raise `Cancelled` when the run's cancel flag is set (called between batches and units)."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("the run was cancelled")


@dataclass
class StepResult:
    """What a step reports: measured counts (D13), a status and notes. Small enough for a state machine
    payload. The opening step also hands on the run context it opened (`context`); the closing step the
    run's report (`report`); neither travels in `to_json`."""

    counts: dict[str, Any] = field(default_factory=dict)
    status: str = "succeeded"
    notes: list[str] = field(default_factory=list)
    context: RunContext | None = None
    report: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "counts": self.counts, "notes": self.notes}


@dataclass
class Resources:
    """How a step reaches the two databases. Credentials stay in here, never in results or logs."""

    pg_dsn: str
    schema: str
    # A Snowflake emulation directory (local runs and tests); None means real Snowflake.
    source_dir: Path | None = None
    snowflake_credentials: dict[str, Any] | None = None
    # Reads the Snowflake secret on first use, so steps that never query Snowflake (the closing steps) never
    # need it.
    credentials_loader: Callable[[], dict[str, Any]] | None = None
    # Set when the run is cancelled; long steps check it between batches and stop cleanly.
    cancel: threading.Event | None = None
    # Who runs the run (this process, or the Step Functions execution): recorded when the run opens, so
    # that the next run can tell whether it is gone (D20 amended).
    owner: RunOwner | None = None
    # A dry run (`visit-conflicts run --dry-run`): the one connection every transactional `pg_conn()`
    # lends, whose transaction the local runner rolls back at the end. Autocommit connections (the
    # ledger, the opening and closing steps) stay separate, so what they record persists.
    shared: SharedTransaction | None = None

    @property
    def dry_run(self) -> bool:
        return self.shared is not None

    def pg(self, *, autocommit: bool = False) -> psycopg.Connection:
        if self.shared is not None and not autocommit:
            return self.shared
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
