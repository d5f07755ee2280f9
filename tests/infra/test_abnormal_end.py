"""The abnormal-end rules (D19), evaluated against Step Functions' execution status-change events with
moto's EventBridge pattern matcher and the rules' own input transformers: the cleanup Lambda is invoked
exactly for executions of the pipeline that ended without their closing states, with what it needs to
close the right run (its id, the execution ARN, the execution input that locates its schema)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import constants as c
from tests.infra.sfn_local import cleanup_inputs, status_change_event
from tests.infra.support import Synthesised

MACHINE_ARN = "arn:aws:states:us-east-1:111111111111:stateMachine:visit-conflicts-dev"
MIGRATE_ARN = "arn:aws:states:us-east-1:111111111111:stateMachine:visit-conflicts-dev-migrate"
INPUT = json.dumps({"params": {"target": {"schema": "conflict_backfill"}, "lookback_hours": 72}})


def _sent(
    dev: Synthesised, status: str, error: str | None, machine: str = MACHINE_ARN
) -> list[dict[str, Any]]:
    return cleanup_inputs(dev, status_change_event(machine, "run-1", status, error, INPUT), MACHINE_ARN)


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        ("TIMED_OUT", None, c.OUTCOME_FAILED),
        ("ABORTED", None, c.OUTCOME_CANCELLED),
        ("FAILED", "TransientError", c.OUTCOME_FAILED),  # a closing step that kept failing
        ("FAILED", "States.Runtime", c.OUTCOME_FAILED),
    ],
)
def test_executions_that_ended_without_their_closing_states_invoke_cleanup(
    dev: Synthesised, status: str, error: str | None, outcome: str
) -> None:
    (sent,) = _sent(dev, status, error)
    assert sent["run_id"] == "run-1"
    assert sent["execution_arn"] == f"{MACHINE_ARN.replace(':stateMachine:', ':execution:')}:run-1"
    # The execution input as text: the cleanup finds the run's schema override in it.
    assert json.loads(sent["input"]) == json.loads(INPUT)
    assert sent["outcome"] == outcome
    assert sent["error"]["Error"] == status


@pytest.mark.parametrize(
    ("status", "error"),
    [("SUCCEEDED", None), ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED), ("RUNNING", None)],
)
def test_executions_that_ran_their_closing_states_do_not_invoke_cleanup_again(
    dev: Synthesised, status: str, error: str | None
) -> None:
    """`Run not succeeded` is reached only through restore and report."""
    assert _sent(dev, status, error) == []


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_migrate_executions_are_not_pipeline_runs(dev: Synthesised, status: str) -> None:
    assert _sent(dev, status, "States.TaskFailed", machine=MIGRATE_ARN) == []


def test_failed_cleanups_are_retried_then_kept_in_a_dead_letter_queue(dev: Synthesised) -> None:
    """A failed cleanup must not vanish: an event EventBridge could not deliver and an invocation that
    failed in the function are both retried, then kept in the queue an alarm watches."""
    (function_id,) = [
        k
        for k, v in dev.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("ImageConfig", {}).get("Command") == [c.ABNORMAL_END_HANDLER]
    ]
    queues = dev.resources("AWS::SQS::Queue")
    rules = dev.resources("AWS::Events::Rule").values()
    assert len(rules) == 2
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 7200}
        (queue,) = [k for k in queues if target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [k, "Arn"]}]
        assert queues[queue]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    (invoke,) = dev.resources("AWS::Lambda::EventInvokeConfig").values()
    assert invoke["Properties"]["FunctionName"] == {"Ref": function_id}
    assert invoke["Properties"]["MaximumRetryAttempts"] == 2
    assert invoke["Properties"]["MaximumEventAgeInSeconds"] == 7200
    on_failure = invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert on_failure == target["DeadLetterConfig"]["Arn"]
    assert dev.template["Outputs"]["CleanupFunctionName"]["Value"] == {"Ref": function_id}
