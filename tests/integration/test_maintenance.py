"""D21: maintenance VACUUM/ANALYZEs only the tables the run wrote and refreshes the payer view; it
follows every selection that writes."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.support.runs import run
from visit_conflicts.config import Params
from visit_conflicts.pipeline import selected_work_steps
from visit_conflicts.step_api import Resources
from visit_conflicts.store.maintenance import ANALYZED_COLUMNS, SCRATCH_TABLES, vacuum_scratch, vacuum_tables


def test_maintenance_is_scoped_to_tables_the_run_wrote(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D21: VACUUM/ANALYZE only the tables written by the steps that ran; row counts come from
    pg_class.reltuples (the report's table section), not COUNT(*)."""
    outcome = run(res, Params(chunks=1, steps=["plan", "detect"]), tmp_path)
    assert outcome.ok, outcome.text
    counts = next(s["counts"] for s in outcome.report["steps"] if s["step"] == "maintenance")
    assert counts["vacuumed"] == "conflictvisitmaps,conflicts"
    assert counts["materialized_view"].endswith("view refreshed concurrently")
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


def test_maintenance_follows_a_selection_that_writes_and_only_then() -> None:
    assert [s.name for s in selected_work_steps(["detect"])] == ["detect", "maintenance"]
    assert [s.name for s in selected_work_steps(["plan"])] == ["plan"]
    assert [s.name for s in selected_work_steps(["status"])] == [
        "status_b",
        "status_a",
        "status_c",
        "maintenance",
    ]


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
    assert vacuum_tables(pg, ["conflictvisitmaps", "conflicts"]) == ["conflictvisitmaps", "conflicts"]
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


def test_scratch_tables_give_back_the_rows_earlier_runs_deleted(pg: psycopg.Connection) -> None:
    """Issue 13 (O(delta), not O(history)): a run's scope rows, deleted by its restore, no longer weigh on
    later runs: maintenance's VACUUM of the scratch tables truncates the emptied pages (a first load's
    scope was ~400 MB of dead rows at SF 0.1), while another run's live rows stay."""

    def size(table: str) -> int:
        row = pg.execute("SELECT pg_relation_size(%s)", (table,)).fetchone()
        assert row is not None
        return int(row[0])

    pg.execute(
        """INSERT INTO run_scope_group (run_id, chunk, "VisitDate", "SSN")
           SELECT 'loaded', 0, DATE '2026-01-01' + (i % 300), lpad(i::text, 9, '0')
           FROM generate_series(1, 50000) AS i"""
    )
    pg.execute("DELETE FROM run_scope_group WHERE run_id = 'loaded'")  # as restore's purge does
    assert size("run_scope_group") > 1_000_000
    assert vacuum_scratch(pg) == list(SCRATCH_TABLES)
    assert size("run_scope_group") == 0
    pg.execute(
        """INSERT INTO run_scope_group (run_id, chunk, "VisitDate", "SSN")
           VALUES ('live', 0, DATE '2026-01-02', '000000001')"""
    )
    vacuum_scratch(pg)
    assert pg.execute("SELECT count(*) FROM run_scope_group WHERE run_id = 'live'").fetchone() == (1,)


@pytest.mark.pgcron
def test_payer_view_refresh_is_left_to_an_active_cron_job_when_asked(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path
) -> None:
    """Issue 13 with D18: `payer_view_refresh = "cron"` (the default) leaves the view's (whole) refresh
    to the pg_cron job preflight found active; the view's table is still brought up to date. Without an
    active job, or with "run", the run refreshes it."""
    cron = run(res, Params(pg_cron_job_name=cron_job, chunks=1), tmp_path)
    assert cron.ok, cron.text
    counts = next(s["counts"] for s in cron.report["steps"] if s["step"] == "maintenance")
    assert counts["materialized_view"].endswith("view left to the pg_cron job")
    assert counts["view_refresh_seconds"] == 0
    asked = run(res, Params(pg_cron_job_name=cron_job, chunks=1, payer_view_refresh="run"), tmp_path)
    counts = next(s["counts"] for s in asked.report["steps"] if s["step"] == "maintenance")
    assert counts["materialized_view"].endswith("view refreshed concurrently")
    pg.execute("SELECT cron.alter_job(jobid, active := false) FROM cron.job WHERE jobname = %s", (cron_job,))
    inactive = run(res, Params(pg_cron_job_name=cron_job, chunks=1, payer_view_refresh="cron"), tmp_path)
    counts = next(s["counts"] for s in inactive.report["steps"] if s["step"] == "maintenance")
    assert counts["materialized_view"].endswith("view refreshed concurrently")
