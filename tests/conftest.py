"""Shared fixtures: one real PostgreSQL server per test session (with pg_cron when installed), a fresh
migrated schema per test, and a Snowflake emulation directory per test.

Set VC_TEST_PG_DSN to run against an existing server instead of starting one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devkit.local_postgres import LocalStackError, PgServer, find_bin_dir, free_port
from tests.support.schemas import migrated_schema
from visit_conflicts.store.db import connect

# Fixtures shared by the tests that run the whole pipeline (`res`, `cron_job`).
pytest_plugins = ["tests.support.runs"]


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    """DSN of the session's PostgreSQL database (pg_cron preloaded when the Debian package is there)."""
    external = os.environ.get("VC_TEST_PG_DSN")
    if external:
        yield external
        return
    root = Path(tempfile.mkdtemp(prefix="vc-test-pg-"))
    root.chmod(0o755)
    try:
        bin_dir = find_bin_dir(require_cron=True)
        server = PgServer(root=root, bin_dir=bin_dir, port=free_port(), with_cron=True)
    except LocalStackError:
        # Without pg_cron the pgcron-marked tests fail with a clear message; everything else runs.
        server = PgServer(root=root, bin_dir=find_bin_dir(), port=free_port(), with_cron=False)
    server.start()
    try:
        yield server.dsn
    finally:
        server.destroy()


@pytest.fixture
def schema(pg_server_dsn: str) -> Iterator[str]:
    """A fresh schema with every migration applied; dropped after the test."""
    with migrated_schema(pg_server_dsn) as name:
        yield name


@pytest.fixture
def pg(pg_server_dsn: str, schema: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection with search_path = the test schema."""
    conn = connect(pg_server_dsn, schema, autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def source_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty Snowflake emulation directory, bound to this process for the test."""
    from devkit.emulation import release_emulation

    release_emulation()
    path = tmp_path / "snowflake"
    path.mkdir()
    yield path
    release_emulation()
