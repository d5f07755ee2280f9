"""Run history in the report (issue 14): one model from the ledger, three renderings that carry the same
facts, the history page a local run writes, and the `report --history` command."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.runs import run
from visit_conflicts import cli
from visit_conflicts.config import Params
from visit_conflicts.history import facts
from visit_conflicts.local_runner import RunOutcome
from visit_conflicts.pipeline import STEP_NAMES
from visit_conflicts.report import build_report, render_html, render_text
from visit_conflicts.step_api import Resources

# Only the opening, plan and closing steps: the history is the same whatever the steps, and a run of
# them takes a fraction of a full run's time. The facts test runs detect too (its chunks are in it).
QUICK = {"steps": ["plan"]}


def _two_runs(res: Resources, tmp_path: Path, **overrides: object) -> tuple[RunOutcome, RunOutcome]:
    first = run(res, Params.model_validate({**QUICK, **overrides}), tmp_path)
    second = run(res, Params.model_validate({**QUICK, **overrides}), tmp_path)
    assert first.ok and second.ok, second.text
    return first, second


def _plain(page: str) -> str:
    """The text a reader sees in the HTML (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_every_history_fact_is_in_the_text_and_the_html(
    res: Resources, tmp_path: Path, pg: psycopg.Connection, schema: str
) -> None:
    """Text, HTML and JSON carry the same facts (D22 and issue 14): every value of the JSON history,
    timings, pairs, skipped rows by reason, a takeover and a retry included, is shown by both renderings."""
    first, second = _two_runs(res, tmp_path, steps=["plan", "detect"], chunks=2)
    # A takeover, a retry and skipped rows, as the ledger records them (D20 amended, D23).
    took_over = {"run_id": first.run_id, "reason": "its process 4242 on host-a is gone", "seconds": 0.4567}
    pg.execute("UPDATE pipeline_run SET took_over = %s WHERE run_id = %s", (Jsonb(took_over), second.run_id))
    pg.execute(
        "UPDATE pipeline_run_step SET attempt = 3, counts = counts || %s "
        "WHERE run_id = %s AND step = 'detect' AND chunk = 1",
        (Jsonb({"skipped_blank_ssn": 4, "skipped_end_before_start": 2}), second.run_id),
    )
    report = build_report(pg, schema, second.run_id, history=30)
    history = report["history"]
    assert [r["run_id"] for r in history["runs"]] == [first.run_id, second.run_id]
    newest = history["runs"][-1]
    assert newest["took_over"] == {"run_id": first.run_id, "reason": took_over["reason"], "seconds": 0.46}
    assert newest["retries"] == [{"label": "detect[1]", "attempt": 3}]
    assert newest["skipped"] == [
        {"reason": "blank_ssn", "rows": 4},
        {"reason": "end_before_start", "rows": 2},
    ]
    assert history["steps"] == [s for s in STEP_NAMES if s in history["steps"]]  # pipeline order
    text, page = render_text(report), _plain(render_html(report))
    shown = list(facts(history))
    assert len(shown) > 60
    assert [f for f in shown if f not in text] == []
    assert [f for f in shown if f not in page] == []
    # The JSON rendering is the same dict.
    assert json.loads(json.dumps(report, default=str))["history"] == history


def test_step_names_come_from_the_ledger_not_from_a_list(
    res: Resources, tmp_path: Path, pg: psycopg.Connection, schema: str
) -> None:
    """A step the step list does not know (an older or newer pipeline's) is shown after the known ones,
    in the order it ran, with its duration: nothing in the rendering lists step names."""
    outcome = run(res, Params.model_validate(QUICK), tmp_path)
    pg.execute(
        "INSERT INTO pipeline_run_step (run_id, step, chunk, status, attempt, started_at, ended_at) "
        "SELECT run_id, 'archive', -1, 'succeeded', 1, max(ended_at), max(ended_at) + interval '1.5 s' "
        "FROM pipeline_run_step WHERE run_id = %s GROUP BY run_id",
        (outcome.run_id,),
    )
    history = build_report(pg, schema, outcome.run_id)["history"]
    assert history["steps"][-1] == "archive"
    assert history["runs"][-1]["step_seconds"]["archive"] == 1.5
    assert "archive" in render_text({**build_report(pg, schema, outcome.run_id)})


def test_a_run_writes_a_self_contained_history_page(res: Resources, tmp_path: Path) -> None:
    """After each run the local runner writes reports/history.html: the latest run's report with the
    history of the runs before it, charts as inline SVG, nothing loaded from elsewhere (email, offline)."""
    first, second = _two_runs(res, tmp_path)
    assert second.history_path == tmp_path / "reports" / "history.html"
    page = second.history_path.read_text()
    assert page == render_html(second.report)
    assert page.count("<svg") >= 3
    assert first.run_id in page and second.run_id in page
    for external in ("<script", "<link", "src=", "@import", "url("):
        assert external not in page
    # The only URL is the SVG namespace, which is a name, not something fetched.
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}


def test_report_command_shows_the_asked_history(
    res: Resources, tmp_path: Path, pg_server_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --history N` covers the last N runs up to the reported one; 0 leaves the history out."""
    first, second = _two_runs(res, tmp_path)
    common = ["--pg-dsn", pg_server_dsn, "--schema", schema, "--format", "json"]
    assert cli.main(["report", "--history", "1", *common]) == 0
    one = json.loads(capsys.readouterr().out)["history"]
    assert [r["run_id"] for r in one["runs"]] == [second.run_id]
    assert cli.main(["report", "--run-id", first.run_id, "--history", "30", *common]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)["history"]["runs"]] == [first.run_id]
    assert cli.main(["report", "--history", "0", *common]) == 0
    assert json.loads(capsys.readouterr().out)["history"] is None
    assert cli.main(["report", "--history", "-1", *common]) == 2
    assert capsys.readouterr().err.strip().startswith("error: --history")
