"""D21: maintenance VACUUM/ANALYZEs only the tables the run wrote and refreshes the payer view; it
follows every selection that writes."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.support.runs import run
from visit_conflicts.config import Params
from visit_conflicts.pipeline import selected_work_steps
from visit_conflicts.step_api import Resources


def test_maintenance_is_scoped_to_tables_the_run_wrote(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D21: VACUUM/ANALYZE only the tables written by the steps that ran; row counts come from
    pg_class.reltuples (the report's table section), not COUNT(*)."""
    outcome = run(res, Params(chunks=1, steps=["plan", "detect"]), tmp_path)
    assert outcome.ok, outcome.text
    counts = next(s["counts"] for s in outcome.report["steps"] if s["step"] == "maintenance")
    assert counts["vacuumed"] == "conflictvisitmaps,conflicts"
    assert counts["materialized_view"].startswith("refreshed")
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
