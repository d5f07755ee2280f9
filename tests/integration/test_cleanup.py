"""D17-D19, D21, D22: cleanup always runs (after a failure in any step too), restores pg_cron and
InProgressFlag, scopes maintenance to what the run wrote, purges scratch rows and closes the ledger run
with its report; the local runner drives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.runs import job_active, run
from visit_conflicts import local_runner
from visit_conflicts.config import Params
from visit_conflicts.pipeline import SHAPE
from visit_conflicts.step_api import Resources
from visit_conflicts.store import ledger
from visit_conflicts.store.cleanup import ANALYZED_COLUMNS, maintain


@pytest.mark.pgcron
def test_active_cron_job_is_disabled_during_run_and_restored(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D18: preflight records the job's state and disables it; cleanup restores exactly that state."""
    seen: list[bool] = []
    original = local_runner.run_step

    def spy(*args: Any, **kwargs: Any) -> Any:
        if args[3] not in (SHAPE.opening.name, SHAPE.closing.name):
            seen.append(job_active(pg, cron_job))
        return original(*args, **kwargs)

    monkeypatch.setattr(local_runner, "run_step", spy)
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


@pytest.mark.parametrize("failing_step", [s.name for s in SHAPE.work])
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


def test_wide_tables_get_statistics_of_the_filtered_columns_only(pg: psycopg.Connection) -> None:
    """D21 with issue 13: conflictvisitmaps is vacuumed and analysed on the columns queries filter, join
    or group on (not all 248: ~5.5 s of CPU per run); narrow tables are analysed whole."""
    pg.execute(
        """WITH parent AS (INSERT INTO conflicts ("StatusFlag") SELECT 'N' FROM generate_series(1, 50)
                          RETURNING "CONFLICTID")
           INSERT INTO conflictvisitmaps ("CONFLICTID", "VisitID", "ConVisitID", "SSN", "VisitDate",
                                          "AideFName", "StatusFlag")
           SELECT "CONFLICTID", gen_random_uuid(), gen_random_uuid(), '1', DATE '2026-11-20', 'Ann', 'N'
           FROM parent"""
    )
    maintain(pg, ["conflictvisitmaps", "conflicts"])
    analysed = {
        table: {
            r[0]
            for r in pg.execute(
                "SELECT attname FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s",
                (table,),
            ).fetchall()
        }
        for table in ("conflictvisitmaps", "conflicts")
    }
    assert {"VisitDate", "SSN", "StatusFlag", "CONFLICTID"} <= analysed["conflictvisitmaps"]
    assert analysed["conflictvisitmaps"] <= set(ANALYZED_COLUMNS["conflictvisitmaps"])
    assert "AideFName" not in analysed["conflictvisitmaps"]
    conflicts_columns = {
        r[0]
        for r in pg.execute(
            """SELECT attname FROM pg_attribute WHERE attrelid = 'conflicts'::regclass AND attnum > 0
               AND NOT attisdropped"""
        ).fetchall()
    }
    assert analysed["conflicts"] == conflicts_columns
    vacuumed = pg.execute(
        """SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables
           WHERE schemaname = current_schema() AND relname = 'conflictvisitmaps'"""
    ).fetchone()
    assert vacuumed == (True,)


@pytest.mark.pgcron
def test_payer_view_refresh_is_left_to_an_active_cron_job_when_asked(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path
) -> None:
    """Issue 13 with D18: `payer_view_refresh = "cron"` leaves the view's (whole) refresh to the pg_cron
    job preflight found active; the view's table is still brought up to date. Without an active job, or
    by default, the run refreshes it."""
    cron = run(res, Params(pg_cron_job_name=cron_job, chunks=1, payer_view_refresh="cron"), tmp_path)
    assert cron.ok, cron.text
    counts = next(s["counts"] for s in cron.report["steps"] if s["step"] == "cleanup")
    assert counts["materialized_view"].endswith("view left to the pg_cron job")
    pg.execute("SELECT cron.alter_job(jobid, active := false) FROM cron.job WHERE jobname = %s", (cron_job,))
    inactive = run(res, Params(pg_cron_job_name=cron_job, chunks=1, payer_view_refresh="cron"), tmp_path)
    counts = next(s["counts"] for s in inactive.report["steps"] if s["step"] == "cleanup")
    assert counts["materialized_view"].endswith("view refreshed concurrently")
