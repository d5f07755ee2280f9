"""D18, D20: preflight disables pg_cron (or reports it skipped), moves identity sequences and refuses a
second concurrent run without touching anything."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg

from tests.support.runs import NOW, run
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.step_api import Resources
from visit_conflicts.store import ledger, pg_cron
from visit_conflicts.store.preflight import code_schema_version, schema_version, sync_identity_sequences


def test_missing_cron_job_is_reported_as_skipped(res: Resources, tmp_path: Path) -> None:
    """D18: a missing job is 'skipped', not an error."""
    outcome = run(res, Params(pg_cron_job_name=f"no_such_job_{uuid.uuid4().hex[:6]}", chunks=1), tmp_path)
    assert outcome.ok, outcome.text
    assert outcome.report["pg_cron"]["status"] == "skipped"


def test_missing_cron_extension_is_skipped(pg_server_dsn: str) -> None:
    """D18: a database without pg_cron: the lookup says 'not found' instead of failing."""
    name = f"nocron_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = pg_server_dsn.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert pg_cron.cron_job(conn, "anything") is None
            assert pg_cron.disable_cron_job(conn, "anything")["status"] == "skipped"
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_second_concurrent_run_is_refused_and_touches_nothing(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D20: a second run while one is active is refused with a clear message; it restores nothing
    (the active run owns pg_cron and InProgressFlag)."""
    params = Params(chunks=1)
    active = RunContext.create(params, now=NOW, run_id="active-run")
    ledger.start_run(pg, active, params, steps=["plan"], full_run=True)
    pg.execute('UPDATE settings SET "InProgressFlag" = 1')
    outcome = run(res, params, tmp_path)
    assert outcome.status == "failed"
    assert "active-run" in (outcome.error or "") and "refused" in (outcome.error or "")
    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (1,)
    assert ledger.active_run(pg)["run_id"] == "active-run"  # type: ignore[index]


def test_preflight_moves_identity_sequences_past_existing_ids(pg: psycopg.Connection, schema: str) -> None:
    """Inserts cannot collide with ids written behind the sequence's back (legacy self-healing, ahead)."""
    pg.execute(
        """INSERT INTO conflicts ("CONFLICTID", "StatusFlag") OVERRIDING SYSTEM VALUE VALUES (500, 'N')"""
    )
    moved = sync_identity_sequences(pg, schema)
    assert moved == {"conflicts": 500}
    row = pg.execute(
        'INSERT INTO conflicts ("StatusFlag") VALUES (%s) RETURNING "CONFLICTID"', ("N",)
    ).fetchone()
    assert row == (501,)
    assert sync_identity_sequences(pg, schema) == {}


def test_cutoff_is_the_last_successful_runs_start_when_runs_are_far_apart(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D2 end to end: two runs 72 h apart with lookback_hours 36. The second run's cutoff, as the ledger
    records it, is the first run's start (the watermark), not now - 36 h: nothing changed in between is
    lost."""
    from datetime import timedelta

    from visit_conflicts.local_runner import run_pipeline

    params = Params(chunks=1, lookback_hours=36)
    first = run(res, params, tmp_path)
    assert first.ok, first.text
    second = run_pipeline(res, params, now=NOW + timedelta(hours=72), report_dir=tmp_path)
    assert second.ok, second.text
    recorded = ledger.get_run(pg, second.run_id)
    assert recorded is not None
    assert recorded["watermark"] == NOW and recorded["cutoff"] == NOW
    assert second.report["cutoff"] == NOW.isoformat()


def test_schema_behind_the_code_is_refused_before_anything_is_written(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """A schema whose highest applied migration is older than the code's: "run db migrate", no run."""
    latest = code_schema_version()
    pg.execute("DELETE FROM schema_migrations WHERE version = %s", (latest,))
    outcome = run(res, Params(chunks=1), tmp_path)
    assert outcome.status == "failed"
    assert "run db migrate" in (outcome.error or "")
    assert f"needs {latest:04d}" in (outcome.error or "")
    assert ledger.get_run(pg, outcome.run_id) is None  # refused before the lock: nothing opened


def test_schema_version_reads_the_highest_applied_migration(res: Resources, pg: psycopg.Connection) -> None:
    assert schema_version(pg, res.schema) == code_schema_version()
    pg.execute("DROP TABLE schema_migrations")
    assert schema_version(pg, res.schema) is None
