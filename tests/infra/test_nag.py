"""cdk-nag (AwsSolutions) runs on every synth of the stack; nothing it reports is left unacknowledged,
and every acknowledgement says why."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import infra.nag
from tests.infra.support import Synthesised, synthesise

_ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


def test_synth_reports_no_unacknowledged_finding(synthesised: Synthesised) -> None:
    """The synth in the fixture raises on an unacknowledged error; its report lists no finding at all
    (no warning either)."""
    report = json.loads((synthesised.outdir / "validation-report.json").read_text())
    assert report["pluginReports"], "cdk-nag did not run"
    assert [v for p in report["pluginReports"] for v in p.get("violations", [])] == []


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
    """A control: with acknowledgements switched off, the same stack fails validation, with exactly
    the findings the constructs acknowledge (each with its reason, see infra/)."""
    ignore = lambda construct, finding, reason: None  # noqa: E731
    users = [
        m for m in list(sys.modules.values()) if getattr(m, "acknowledge", None) is infra.nag.acknowledge
    ]
    assert {m.__name__ for m in users} >= {"infra.nag", "infra.stack", "infra.functions", "infra.tasks"}
    for module in users:
        monkeypatch.setattr(module, "acknowledge", ignore)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        synthesise("dev", tmp_path)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"].split("[")[0] for p in report["pluginReports"] for v in p["violations"]}
    assert rules == {
        "AwsSolutions-ECS2",  # task environment variables (names and addresses only)
        "AwsSolutions-IAM4",  # AWS managed policies of Lambda's logs and VPC access (incl. CDK's provider)
        "AwsSolutions-IAM5",  # wildcards of actions without resource-level permissions
        "AwsSolutions-SQS3",  # the dead-letter queues have no dead-letter queue of their own
    }
