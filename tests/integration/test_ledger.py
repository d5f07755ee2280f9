"""D20, D2: the run ledger records runs and steps, keeps the watermark and refuses a concurrent run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.store import ledger

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _open(pg: psycopg.Connection, run_id: str, now: datetime = NOW, full_run: bool = True) -> RunContext:
    params = Params()
    ctx = RunContext.create(params, now=now, run_id=run_id, watermark=ledger.last_watermark(pg))
    ledger.start_run(pg, ctx, params, steps=["plan", "detect"], full_run=full_run)
    return ctx


def test_second_active_run_is_refused_with_a_clear_message(pg: psycopg.Connection) -> None:
    """D20: a second concurrent run is refused (not queued), naming the active run."""
    _open(pg, "run-a")
    with pytest.raises(ledger.RunLockedError, match=r"run run-a .* still active .* refused"):
        _open(pg, "run-b")
    ledger.finish_run(pg, "run-a", status="succeeded")
    _open(pg, "run-b", now=NOW + timedelta(hours=1))


def test_lock_holds_across_connections(pg_server_dsn: str, pg: psycopg.Connection, schema: str) -> None:
    """D20: the lock is in the database, so another process (connection) is refused too."""
    from visit_conflicts.store.db import connect

    _open(pg, "run-a")
    with connect(pg_server_dsn, schema, autocommit=True) as other, pytest.raises(ledger.RunLockedError):
        _open(other, "run-b")


def test_watermark_is_start_of_last_successful_full_run(pg: psycopg.Connection) -> None:
    """D2/D20: failed runs and partial reruns do not move the watermark."""
    assert ledger.last_watermark(pg) is None
    _open(pg, "ok-1", now=NOW)
    ledger.finish_run(pg, "ok-1", status="succeeded")
    _open(pg, "failed", now=NOW + timedelta(hours=6))
    ledger.finish_run(pg, "failed", status="failed", error="boom")
    _open(pg, "partial", now=NOW + timedelta(hours=8), full_run=False)
    ledger.finish_run(pg, "partial", status="succeeded")
    assert ledger.last_watermark(pg) == NOW
    ctx = _open(pg, "next", now=NOW + timedelta(days=3))
    # Three days since the last success: the cutoff reaches back to the watermark, not just 36 h.
    assert ctx.cutoff == NOW


def test_steps_record_status_counts_and_attempts(pg: psycopg.Connection) -> None:
    """D20: each step's start, end, status and measured counts; a rerun bumps the attempt."""
    _open(pg, "r")
    assert ledger.step_started(pg, "r", "detect", 0) == 1
    ledger.step_finished(pg, "r", "detect", chunk=0, status="failed", error="x")
    assert ledger.step_started(pg, "r", "detect", 0) == 2
    ledger.step_finished(pg, "r", "detect", chunk=0, status="succeeded", counts={"inserted": 5})
    (rec,) = ledger.get_steps(pg, "r")
    assert (rec.status, rec.attempt, rec.counts, rec.error) == ("succeeded", 2, {"inserted": 5}, None)
    assert rec.ended_at is not None and rec.ended_at >= rec.started_at
