"""D17-D20, D22: preflight, always-run cleanup, pg_cron toggling, lock, report, through the local runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devkit.emulation import create_source_schema
from visit_conflicts import runner
from visit_conflicts.config import Params
from visit_conflicts.pipeline import available_work_steps
from visit_conflicts.source.connection import connect_source
from visit_conflicts.steps import Resources, preflight
from visit_conflicts.store import ledger

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


def run(res: Resources, params: Params, tmp_path: Path, **kwargs: Any) -> runner.RunOutcome:
    return runner.run_pipeline(res, params, now=NOW, report_dir=tmp_path / "reports", **kwargs)


@pytest.mark.pgcron
def test_active_cron_job_is_disabled_during_run_and_restored(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D18: preflight records the job's state and disables it; cleanup restores exactly that state."""
    seen: list[bool] = []
    original = runner.run_step

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(job_active(pg, cron_job))
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "run_step", spy)
    outcome = run(res, Params(pg_cron_job_name=cron_job, chunks=2), tmp_path)
    assert outcome.ok, outcome.text
    assert seen and not any(seen)
    assert job_active(pg, cron_job)
    assert outcome.report["pg_cron"]["status"] == "disabled"


@pytest.mark.pgcron
def test_inactive_cron_job_stays_inactive(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path
) -> None:
    """D18: a job that was inactive before the run is still inactive after it."""
    pg.execute("SELECT cron.alter_job(jobid, active := false) FROM cron.job WHERE jobname = %s", (cron_job,))
    outcome = run(res, Params(pg_cron_job_name=cron_job, chunks=1), tmp_path)
    assert outcome.ok, outcome.text
    assert not job_active(pg, cron_job)


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
            assert preflight.cron_job(conn, "anything") is None
            assert preflight.disable_cron_job(conn, "anything")["status"] == "skipped"
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.parametrize("failing_step", [s.name for s in available_work_steps()])
def test_failure_in_any_step_still_runs_cleanup(
    res: Resources, pg: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_step: str
) -> None:
    """D19: a failure injected in each step: cleanup still runs, the run ends failed with the error in
    the report, InProgressFlag is back to the idle value, the lock is free."""
    from visit_conflicts.pipeline import STEP_BY_NAME

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"injected failure in {failing_step}")

    step = STEP_BY_NAME[failing_step]
    monkeypatch.setattr(
        type(step),
        "function",
        lambda self: (
            boom if self.name == failing_step else __import__("importlib").import_module(self.module).run
        ),
    )
    pg.execute('UPDATE settings SET "InProgressFlag" = 1')
    outcome = run(res, Params(chunks=2), tmp_path)
    assert outcome.status == "failed"
    assert f"injected failure in {failing_step}" in (outcome.error or "")
    assert f"injected failure in {failing_step}" in outcome.text
    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (0,)
    assert ledger.active_run(pg) is None
    statuses = {s["step"]: s["status"] for s in outcome.report["steps"]}
    assert statuses[failing_step] == "failed" and statuses["cleanup"] == "succeeded"
    assert (tmp_path / "reports" / f"{outcome.run_id}.html").exists()


def test_second_concurrent_run_is_refused_and_touches_nothing(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D20: a second run while one is active is refused with a clear message; it restores nothing
    (the active run owns pg_cron and InProgressFlag)."""
    params = Params(chunks=1)
    active = runner.RunContext.create(params, now=NOW, run_id="active-run")
    ledger.start_run(pg, active, params, steps=["plan"], full_run=True)
    pg.execute('UPDATE settings SET "InProgressFlag" = 1')
    outcome = run(res, params, tmp_path)
    assert outcome.status == "failed"
    assert "active-run" in (outcome.error or "") and "refused" in (outcome.error or "")
    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (1,)
    assert ledger.active_run(pg)["run_id"] == "active-run"  # type: ignore[index]


def test_success_sets_last_load_date_and_closes_ledger(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D17/D20/D22: idle flag and LastLoadDate on success; ledger run closed with the JSON report."""
    outcome = run(res, Params(chunks=2), tmp_path)
    assert outcome.ok, outcome.text
    flag, last_load = pg.execute('SELECT "InProgressFlag", "LastLoadDate" FROM settings').fetchone()  # type: ignore[misc]
    assert flag == 0 and last_load is not None
    stored = ledger.get_run(pg, outcome.run_id)
    assert stored is not None and stored["status"] == "succeeded"
    assert stored["report"]["run_id"] == outcome.run_id
    names = [s["step"] for s in outcome.report["steps"]]
    assert names[0] == "preflight" and names[-1] == "cleanup"
    # D22 durations are wall clock even when the run's "now" is fixed (here: hours away from the clock).
    assert 0 < outcome.report["seconds"] < 300


def test_preflight_moves_identity_sequences_past_existing_ids(pg: psycopg.Connection, schema: str) -> None:
    """Inserts cannot collide with ids written behind the sequence's back (legacy self-healing, ahead)."""
    pg.execute(
        """INSERT INTO conflicts ("CONFLICTID", "StatusFlag") OVERRIDING SYSTEM VALUE VALUES (500, 'N')"""
    )
    moved = preflight.sync_identity_sequences(pg, schema)
    assert moved == {"conflicts": 500}
    row = pg.execute(
        'INSERT INTO conflicts ("StatusFlag") VALUES (%s) RETURNING "CONFLICTID"', ("N",)
    ).fetchone()
    assert row == (501,)
    assert preflight.sync_identity_sequences(pg, schema) == {}


def test_run_scratch_rows_are_purged_at_the_end(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """The ledger-side scope and seen tables keep nothing once a run has ended (unlogged scratch)."""
    pg.execute(
        """INSERT INTO run_scope_group (run_id, chunk, "VisitDate", "SSN")
           VALUES ('r-scratch', 0, '2026-11-20', 'x')"""
    )
    pg.execute(
        """INSERT INTO run_seen_pair (run_id, chunk, "VisitID", "ConVisitID")
           VALUES ('r-scratch', 0, gen_random_uuid(), gen_random_uuid())"""
    )
    outcome = run(res, Params(chunks=2, steps=["detect"]), tmp_path, run_id="r-scratch")
    assert outcome.ok, outcome.text
    for table in ("run_scope_group", "run_seen_pair"):
        assert pg.execute(
            f"SELECT count(*) FROM {table} WHERE run_id = %s", (outcome.run_id,)
        ).fetchone() == (0,)


def test_maintenance_is_scoped_to_tables_the_run_wrote(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D21: VACUUM/ANALYZE only the tables written by the steps that ran; row counts come from
    pg_class.reltuples (the report's table section), not COUNT(*)."""
    outcome = run(res, Params(chunks=1, steps=["plan", "detect"]), tmp_path)
    assert outcome.ok, outcome.text
    cleanup_counts = next(s["counts"] for s in outcome.report["steps"] if s["step"] == "cleanup")
    assert cleanup_counts["maintenance"] == "conflictvisitmaps,conflicts"
    vacuumed: dict[str, bool] = dict(
        pg.execute(
            """SELECT relname, last_vacuum IS NOT NULL FROM pg_stat_user_tables
               WHERE schemaname = current_schema()
                 AND relname IN ('conflictvisitmaps', 'conflicts', 'conflictlog_staging',
                                 'payer_provider_reminders')"""
        ).fetchall()
    )
    assert vacuumed == {
        "conflictvisitmaps": True,
        "conflicts": True,
        "conflictlog_staging": False,
        "payer_provider_reminders": False,
    }
    assert set(outcome.report["tables"]) >= {"conflictvisitmaps", "conflicts"}
