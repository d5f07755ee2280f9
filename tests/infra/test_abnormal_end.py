"""The abnormal-end rules (D19), evaluated against Step Functions' execution status-change events with
moto's EventBridge pattern matcher: cleanup is invoked exactly for executions that ended without it."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from moto.events.models import EventPattern

from infra import constants as c
from tests.infra.support import Synthesised

MACHINE_ARN = "arn:aws:states:us-east-1:111111111111:stateMachine:visit-conflicts"


def _event(status: str, error: str | None) -> dict[str, Any]:
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": f"{MACHINE_ARN}:run-1".replace(":stateMachine:", ":execution:"),
            "stateMachineArn": MACHINE_ARN,
            "name": "run-1",
            "status": status,
            "error": error,
            "cause": None,
        },
    }


def _cleanup_inputs(dev: Synthesised, event: dict[str, Any]) -> list[dict[str, Any]]:
    """What the rules send to the cleanup Lambda for `event` (one entry per matching rule)."""
    (machine,) = dev.resources("AWS::StepFunctions::StateMachine")
    inputs = []
    for rule in dev.resources("AWS::Events::Rule").values():
        pattern = json.loads(
            json.dumps(rule["Properties"]["EventPattern"]).replace(
                json.dumps({"Ref": machine}), json.dumps(MACHINE_ARN)
            )
        )
        if not EventPattern(None, pattern).matches_event(cast(Any, event)):
            continue
        (target,) = rule["Properties"]["Targets"]
        transformer = target["InputTransformer"]
        text = transformer["InputTemplate"]
        for name, path in transformer["InputPathsMap"].items():
            value: Any = event
            for key in path.removeprefix("$.").split("."):
                value = value[key]
            text = text.replace(f"<{name}>", json.dumps(value))
        inputs.append(json.loads(text))
    return inputs


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        ("TIMED_OUT", None, c.OUTCOME_FAILED),
        ("ABORTED", None, c.OUTCOME_CANCELLED),
        ("FAILED", "ConfigError", c.OUTCOME_FAILED),  # cleanup on the catch path failed itself
        ("FAILED", "States.Runtime", c.OUTCOME_FAILED),
    ],
)
def test_executions_that_ended_without_cleanup_invoke_it_with_the_run_id(
    dev: Synthesised, status: str, error: str | None, outcome: str
) -> None:
    (sent,) = _cleanup_inputs(dev, _event(status, error))
    assert sent["run_id"] == "run-1"
    assert sent["outcome"] == outcome
    assert sent["error"]["Error"] == status


@pytest.mark.parametrize(
    ("status", "error"),
    [("SUCCEEDED", None), ("FAILED", c.ERROR_STEP_FAILED), ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)],
)
def test_executions_that_already_ran_cleanup_do_not_invoke_it_again(
    dev: Synthesised, status: str, error: str | None
) -> None:
    assert _cleanup_inputs(dev, _event(status, error)) == []
