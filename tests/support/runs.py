"""What the preflight and cleanup tests share: source tables in the emulation (`res`), a pg_cron job
(`cron_job`), and a run of the whole pipeline through the local runner at a fixed clock (`run`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devkit.emulation import create_source_schema
from visit_conflicts import local_runner
from visit_conflicts.config import Params
from visit_conflicts.source.connection import connect_source
from visit_conflicts.step_api import Resources

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.fixture
def res(pg_server_dsn: str, schema: str, source_dir: Path) -> Resources:
    conn = connect_source(source_dir)
    create_source_schema(conn)
    conn.close()
    return Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)


@pytest.fixture
def cron_job(pg: psycopg.Connection) -> Iterator[str]:
    """A pg_cron job with a unique name (pg_cron's catalog is shared by every schema of the database)."""
    name = f"refresh_mv_{uuid.uuid4().hex[:8]}"
    try:
        pg.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
    except psycopg.Error as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"pg_cron is required for this test (make test installs postgresql-15-cron): {exc}")
    pg.execute("SELECT cron.schedule(%s, '*/5 * * * *', 'SELECT 1')", (name,))
    yield name
    pg.execute("SELECT cron.unschedule(%s)", (name,))


def job_active(pg: psycopg.Connection, name: str) -> bool:
    row = pg.execute("SELECT active FROM cron.job WHERE jobname = %s", (name,)).fetchone()
    assert row is not None
    return bool(row[0])


def run(res: Resources, params: Params, tmp_path: Path, **kwargs: Any) -> local_runner.RunOutcome:
    return local_runner.run_pipeline(res, params, now=NOW, report_dir=tmp_path / "reports", **kwargs)
