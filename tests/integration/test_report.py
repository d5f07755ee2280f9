"""D22: the report closes every run: stored in the ledger once the run is closed, and for a run that
did not succeed it says which execution input finishes the work (a closed run is never resumed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.runs import run
from visit_conflicts.config import Params
from visit_conflicts.pipeline import STEP_BY_NAME, Step
from visit_conflicts.step_api import Resources
from visit_conflicts.steps.report import rerun_hint
from visit_conflicts.store import ledger


def test_the_report_of_a_failed_run_says_which_steps_to_run_again(
    res: Resources, pg: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Step.function

    def fail_status_a(self: Step) -> Any:
        if self.name == "status_a":

            def boom(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("status A blew up")

            return boom
        return real(self)

    monkeypatch.setattr(Step, "function", fail_status_a)
    outcome = run(res, Params(chunks=1), tmp_path)

    assert outcome.status == "failed"
    stored = ledger.get_run(pg, outcome.run_id)
    assert stored is not None and stored["report"]["status"] == "failed"
    hint = rerun_hint(outcome.report, list(stored["steps"]))
    assert hint is not None
    overrides = json.loads(hint.split("execution with ", 1)[1])
    assert overrides == {"params": {"steps": ["status_a", "status_c", "maintenance"]}}


def test_the_rerun_of_stale_cleanup_repeats_the_scope_and_the_chunks() -> None:
    """D12: finalize needs plan's scope and every chunk of the same run."""
    report = {
        "status": "failed",
        "steps": [
            {"step": "staging", "status": "succeeded", "chunk": None},
            {"step": "plan", "status": "succeeded", "chunk": None},
            {"step": "detect", "status": "succeeded", "chunk": 0},
            {"step": "finalize", "status": "failed", "chunk": None},
        ],
    }
    selected = ["staging", "plan", "detect", "finalize", "inservice", "maintenance"]
    hint = rerun_hint(report, selected)
    assert hint is not None and json.loads(hint.split("execution with ", 1)[1]) == {
        "params": {"steps": ["plan", "detect", "finalize", "inservice", "maintenance"]}
    }
    assert STEP_BY_NAME["finalize"].needs == ("plan", "detect")
    assert rerun_hint({**report, "status": "succeeded"}, selected) is None


def test_report_email_through_ses_carries_the_report(
    res: Resources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D22: with email enabled, SES sends the report: its subject says the status and the environment,
    and its HTML body is exactly the run's HTML report (moto's SES records the HTML part of what was
    sent)."""
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from visit_conflicts.report import render_html, render_text

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    email = {
        "enabled": True,
        "region": "us-east-1",
        "sender": "pipeline@example.org",
        "recipients": ["ops@example.org"],
    }
    with mock_aws():
        import boto3

        boto3.client("ses", region_name="us-east-1").verify_email_identity(
            EmailAddress="pipeline@example.org"
        )
        outcome = run(res, Params.model_validate({"chunks": 1, "email": email}), tmp_path)
        sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert outcome.ok, outcome.text
    assert len(sent) == 1
    message = sent[0]
    assert message.destinations["ToAddresses"] == ["ops@example.org"]
    assert message.subject == f"Conflict Management Pipeline - SUCCEEDED - {outcome.report['environment']}"
    assert message.body == render_html(outcome.report)
    assert outcome.text == render_text(outcome.report)
