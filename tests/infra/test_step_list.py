"""The step list in visit_conflicts/pipeline.py is the single source of the pipeline's shape: the
synthesised state machine visits the steps in its order, the local runner runs the same order, each
step's state carries its timeout and its retry of transient failures only, and changing the list
changes the state machine."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from infra import constants as c
from infra.stack import PipelineStack
from infra.state_machine import visited_steps
from tests.infra.support import Synthesised, app_context, environment_config, synthesise
from visit_conflicts import pipeline
from visit_conflicts.errors import TRANSIENT_ERROR
from visit_conflicts.pipeline import STEPS, Step, pipeline_shape, selected_work_steps

SHAPE = pipeline_shape(STEPS)


def _call_state(states: dict[str, Any], step: Step) -> dict[str, Any]:
    """The state that makes one call of `step` (one chunk's, for the mapped step): a Lambda task, or
    the Parallel around a Fargate task. It carries the step's Retry."""
    state = states[step.name]
    if step.map_over_chunks:
        return dict(state["ItemProcessor"]["States"][step.name + c.STATE_CHUNK_SUFFIX])
    return dict(state)


def _task_state(call: dict[str, Any]) -> dict[str, Any]:
    """The Task inside a call state (the ECS task inside a Fargate step's Parallel)."""
    if call["Type"] == "Parallel":
        (branch,) = call["Branches"]
        return dict(branch["States"][branch["StartAt"]])
    return call


def test_state_machine_visits_the_steps_in_step_list_order(synthesised: Synthesised) -> None:
    assert visited_steps(synthesised.state_machine_definition()) == [s.name for s in STEPS]


def test_state_machine_and_local_runner_run_the_same_steps(dev: Synthesised) -> None:
    runner = [
        SHAPE.opening.name,
        *(s.name for s in selected_work_steps(None)),
        *(s.name for s in SHAPE.closing),
    ]
    assert visited_steps(dev.state_machine_definition()) == runner


def test_reordering_and_adding_a_step_changes_the_state_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    by_name = {s.name: s for s in STEPS}
    extra = Step("reconcile", "fargate", "a step that does not exist yet", timeout_seconds=600)
    # inservice moved before detect; a new step before the status phases.
    order = [
        "preflight",
        "staging",
        "plan",
        "inservice",
        "detect",
        "finalize",
        "reconcile",
        "status_b",
        "status_a",
        "status_c",
        "maintenance",
        "restore",
        "report",
    ]
    assert sorted(set(order) - {"reconcile"}) == sorted(by_name)
    modified = tuple(extra if name == "reconcile" else by_name[name] for name in order)
    monkeypatch.setattr(pipeline, "STEPS", modified)
    monkeypatch.setattr(pipeline, "STEP_BY_NAME", {s.name: s for s in modified})
    monkeypatch.setattr(pipeline, "SHAPE", pipeline_shape(modified))

    definition = synthesise("dev", tmp_path).state_machine_definition()

    assert visited_steps(definition) == order
    assert [s.name for s in pipeline.selected_work_steps(None)] == order[1:-2]
    task = _task_state(definition["States"]["reconcile"])
    assert task["TimeoutSeconds"] == 600
    assert task["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"] == ["reconcile"]


def test_every_step_has_its_timeout_and_retries_transient_errors_only(dev: Synthesised) -> None:
    """One retrier per step, for TransientError (plus Lambda's own service errors on Lambda steps),
    with the step's backoff and full jitter; a logic error (States.TaskFailed, PermanentError, any
    other name) is never retried."""
    states = dev.state_machine_definition()["States"]
    for step in STEPS:
        call = _call_state(states, step)
        assert _task_state(call)["TimeoutSeconds"] == step.timeout_seconds, step.name
        errors = [TRANSIENT_ERROR, *(c.LAMBDA_SERVICE_ERRORS if step.kind == "lambda" else ())]
        retry = step.retry
        assert call["Retry"] == [
            {
                "ErrorEquals": errors,
                "MaxAttempts": retry.max_attempts,
                "IntervalSeconds": retry.interval_seconds,
                "BackoffRate": retry.backoff_rate,
                "MaxDelaySeconds": retry.max_delay_seconds,
                "JitterStrategy": "FULL",
            }
        ], step.name
        if step.map_over_chunks:
            assert "Retry" not in states[step.name]  # each chunk retries alone, not the whole Map


def test_a_failing_opening_or_work_step_leads_to_the_closing_steps(dev: Synthesised) -> None:
    """D19: every step but the closing ones catches everything into `Work failed`, which, like
    `Work succeeded`, goes on to the first closing step; the closing steps catch nothing (if they keep
    failing, the execution fails and the abnormal-end rule runs them again)."""
    states = dev.state_machine_definition()["States"]
    for step in (SHAPE.opening, *SHAPE.work):
        assert states[step.name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": c.ERROR, "Next": c.STATE_WORK_FAILED}
        ], step.name
    first_closing = SHAPE.closing[0].name
    assert states[c.STATE_WORK_FAILED]["Next"] == states[c.STATE_WORK_SUCCEEDED]["Next"] == first_closing
    assert states[c.STATE_WORK_FAILED]["Parameters"] == {"outcome": c.OUTCOME_FAILED, "error.$": c.ERROR}
    assert states[c.STATE_WORK_SUCCEEDED]["Parameters"] == {"outcome": c.OUTCOME_SUCCEEDED, "error": ""}
    for step, following in zip(SHAPE.closing, [*SHAPE.closing[1:], None], strict=True):
        state = states[step.name]
        assert "Catch" not in state, step.name
        assert state["Next"] == (following.name if following else c.STATE_RUN_SUCCEEDED)


def test_work_steps_run_only_when_selected_and_fargate_steps_classify_their_exit(dev: Synthesised) -> None:
    states = dev.state_machine_definition()["States"]
    for step in SHAPE.work:
        select = states[f"Select {step.name}"]
        assert select["Parameters"] == {"selected.$": f"States.ArrayContains($.run.steps, '{step.name}')"}
        choice = states[select["Next"]]
        assert choice["Choices"][0]["Next"] == step.name
        assert choice["Default"] == states[step.name]["Next"]  # skipping goes where the step would
        call = _call_state(states, step)
        task = _task_state(call)
        override = task["Parameters"]["Overrides"]["ContainerOverrides"][0]
        if step.map_over_chunks:
            mapped = states[step.name]
            assert mapped["Type"] == "Map" and mapped["ItemsPath"] == c.RUN_CHUNKS
            assert override["Command.$"] == (
                f"States.Array('{step.name}', '--chunk', States.Format('{{}}', $.chunk))"
            )
        else:
            assert override["Command"] == [step.name]
        assert task["Resource"].endswith(":states:::ecs:runTask.sync")
        # The exit code decides the error name: 75 (or a task that never started) is transient.
        (branch,) = call["Branches"]
        call_name = step.name + (c.STATE_CHUNK_SUFFIX if step.map_over_chunks else "")
        assert task["Catch"] == [
            {
                "ErrorEquals": ["States.TaskFailed"],
                "ResultPath": c.TASK_FAILURE,
                "Next": f"{call_name} exit code",
            }
        ]
        inner = branch["States"]
        assert inner[f"{call_name} transient"] == {
            "Type": "Fail",
            "Error": TRANSIENT_ERROR,
            "Cause": f"{call_name}: the task ended with a transient failure (exit 75 or not started)",
        }
        assert inner[f"{call_name} permanent"]["Error"] == c.ERROR_PERMANENT


def test_preflight_gets_the_execution_name_arn_and_whole_input(dev: Synthesised) -> None:
    """D1: the execution name is the run id. The whole input goes to preflight, which refuses unknown
    top-level keys (D3); the ARN lets a later run ask whether this execution still runs (D20)."""
    state = dev.state_machine_definition()["States"][SHAPE.opening.name]
    assert state["Parameters"]["Payload"] == {
        "run_id.$": "$$.Execution.Name",
        "execution_arn.$": "$$.Execution.Id",
        "input.$": "$$.Execution.Input",
    }
    assert state["ResultPath"] == c.RUN


def test_closing_steps_get_the_run_id_input_and_how_the_work_ended(dev: Synthesised) -> None:
    """The closing Lambdas locate the run by its id and the execution input (its schema), then use the
    run's own parameters from the ledger; the report's result decides the execution's end."""
    states = dev.state_machine_definition()["States"]
    for step in SHAPE.closing:
        assert states[step.name]["Parameters"]["Payload"] == {
            "run_id.$": "$$.Execution.Name",
            "input.$": "$$.Execution.Input",
            "outcome.$": f"{c.END}.outcome",
            "error.$": f"{c.END}.error",
        }
    assert states[SHAPE.closing[-1].name]["ResultPath"] == c.REPORT_RESULT
    decision = states[c.STATE_RUN_SUCCEEDED]
    assert decision["Choices"] == [
        {
            "Variable": f"{c.REPORT_RESULT}.status",
            "StringEquals": c.OUTCOME_SUCCEEDED,
            "Next": c.STATE_SUCCEED,
        }
    ]
    assert states[decision["Default"]] == {
        "Type": "Fail",
        "Error": c.ERROR_RUN_NOT_SUCCEEDED,
        "CausePath": f"{c.REPORT_RESULT}.message",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda steps: steps[1:], "first step 'staging' must be an unmapped lambda step"),
        (
            lambda steps: tuple(s for s in steps if not s.always_runs),
            "must end with at least one always_runs=True step",
        ),
        (lambda steps: (*steps, dataclasses.replace(steps[1])), "always_runs=True steps must come last"),
        (lambda steps: (steps[0], steps[2], *steps[1:]), r"duplicate step names \['plan'\]"),
        (
            lambda steps: (*steps[:-1], dataclasses.replace(steps[-1], kind="fargate")),
            "always_runs step 'report' must be an unmapped lambda step",
        ),
        (
            lambda steps: tuple(dataclasses.replace(s, family="plan") if s.family else s for s in steps),
            r"family names \['plan'\] are also step names",
        ),
    ],
    ids=["fargate-opening", "no-closing", "work-after-closing", "duplicate", "fargate-closing", "family"],
)
def test_step_lists_the_state_machine_cannot_express_are_refused(
    change: Callable[[tuple[Step, ...]], tuple[Step, ...]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pipeline_shape(change(STEPS))


def test_visited_steps_follows_next_choices_maps_and_parallels() -> None:
    definition: dict[str, Any] = {
        "StartAt": "a",
        "States": {
            "a": {"Type": "Task", "Next": "pick"},
            "pick": {"Type": "Choice", "Choices": [{"Next": "m"}], "Default": "end"},
            "m": {"Type": "Map", "ItemProcessor": {"StartAt": "x", "States": {}}, "Next": "skip"},
            "skip": {"Type": "Pass", "Next": "p"},
            "p": {"Type": "Parallel", "Branches": [], "Next": "b"},
            "b": {"Type": "Task", "End": True},
            "end": {"Type": "Succeed"},
        },
    }
    assert visited_steps(definition) == ["a", "m", "p", "b"]
    definition["States"]["b"] = {"Type": "Task", "Next": "a"}
    with pytest.raises(ValueError, match="loops back"):
        visited_steps(definition)


def test_a_lambda_step_longer_than_lambda_allows_is_refused() -> None:
    """Nothing that can exceed Lambda's 15 minutes runs in a Lambda: such a step must be a Fargate one."""
    slow = tuple(
        dataclasses.replace(s, timeout_seconds=c.LAMBDA_MAX_TIMEOUT_SECONDS + 1) if s.name == "restore" else s
        for s in STEPS
    )
    app = App(context=app_context("dev"))
    with pytest.raises(ValueError, match="step 'restore': timeout_seconds=901 exceeds Lambda's 900s"):
        PipelineStack(app, "Slow", config=environment_config("dev"), steps=slow)


def test_the_runbook_lists_every_step_with_its_timeout() -> None:
    """docs/runbook.md's table of durations is what operators size and alarm by: it must not drift from
    the step list."""
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in (c.REPO_ROOT / "docs" / "runbook.md").read_text().splitlines()
        if line.startswith("| ")
    ]
    for step in STEPS:
        (row,) = [r for r in rows if r[0].split(",")[0] == step.name and len(r) == 5]
        assert row[2] == f"{step.timeout_seconds // 60} min", step.name
