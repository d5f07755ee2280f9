"""cdk-nag (AwsSolutions) runs on every synth of the stack; nothing it reports is left unacknowledged,
and every acknowledgement says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import infra.nag
from tests.infra.support import Synthesised, synthesise

_ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


def test_synth_reports_no_unacknowledged_errors(synthesised: Synthesised) -> None:
    # The synth in the fixture raises on any unacknowledged error; a report, if written, has none.
    report = synthesised.outdir / "validation-report.json"
    if report.exists():
        violations = [
            v for p in json.loads(report.read_text())["pluginReports"] for v in p.get("violations", [])
        ]
        assert [v for v in violations if v["severity"] == "error"] == []


def test_every_acknowledgement_has_a_reason(synthesised: Synthesised) -> None:
    acknowledged = {
        f"{node.node.path}: {rule}": reason
        for node in synthesised.stack.node.find_all()
        for entry in node.node.metadata
        if entry.type == _ACKNOWLEDGED
        for rule, reason in dict(entry.data).items()
    }
    assert any("AwsSolutions::" in key for key in acknowledged)
    assert {k: r for k, r in acknowledged.items() if not str(r).strip()} == {}


def test_acknowledge_refuses_an_empty_reason() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        infra.nag.acknowledge(None, "IAM5[Resource::*]", " ")  # type: ignore[arg-type]


def test_nag_is_active_the_stack_fails_without_its_acknowledgements(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A control: with acknowledgements switched off, the same stack fails validation."""
    monkeypatch.setattr(infra.nag, "acknowledge", lambda construct, finding, reason: None)
    for module in ("infra.functions", "infra.tasks", "infra.state_machine"):
        monkeypatch.setattr(f"{module}.acknowledge", infra.nag.acknowledge)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        synthesise("dev", tmp_path)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"].split("[")[0] for p in report["pluginReports"] for v in p["violations"]}
    # Exactly the findings the constructs acknowledge (each with its reason, see infra/):
    assert rules == {"AwsSolutions-ECS2", "AwsSolutions-IAM4", "AwsSolutions-IAM5"}
