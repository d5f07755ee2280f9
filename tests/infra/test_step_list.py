"""The step list in visit_conflicts/pipeline.py is the single source of the pipeline's shape: the
synthesised state machine visits the steps in its order, the local runner runs the same order, and
changing the list changes the state machine."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.state_machine import visited_steps
from tests.infra.support import Synthesised, synthesise
from visit_conflicts import pipeline
from visit_conflicts.pipeline import STEPS, Step, pipeline_shape, selected_work_steps


def test_state_machine_visits_the_steps_in_step_list_order(synthesised: Synthesised) -> None:
    assert visited_steps(synthesised.state_machine_definition()) == [s.name for s in STEPS]


def test_state_machine_and_local_runner_run_the_same_steps(dev: Synthesised) -> None:
    shape = pipeline_shape(STEPS)
    runner = [shape.opening.name] + [s.name for s in selected_work_steps(None)] + [shape.closing.name]
    assert visited_steps(dev.state_machine_definition()) == runner


def test_reordering_and_adding_a_step_changes_the_state_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    by_name = {s.name: s for s in STEPS}
    extra = Step("reconcile", "fargate", "a step that does not exist yet", timeout_seconds=600)
    # inservice moved before detect; a new step before status.
    order = [
        "preflight",
        "staging",
        "plan",
        "inservice",
        "detect",
        "finalize",
        "reconcile",
        "status",
        "cleanup",
    ]
    modified = tuple(extra if name == "reconcile" else by_name[name] for name in order)
    monkeypatch.setattr(pipeline, "STEPS", modified)
    monkeypatch.setattr(pipeline, "STEP_BY_NAME", {s.name: s for s in modified})
    monkeypatch.setattr(pipeline, "SHAPE", pipeline_shape(modified))

    definition = synthesise("dev", tmp_path).state_machine_definition()

    assert visited_steps(definition) == order
    assert [s.name for s in pipeline.selected_work_steps(None)] == order[1:-1]
    state = definition["States"]["reconcile"]
    assert state["TimeoutSeconds"] == 600
    assert state["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"] == ["reconcile"]


def test_steps_carry_their_retry_policy_and_timeout(dev: Synthesised) -> None:
    states = dev.state_machine_definition()["States"]
    shape = pipeline_shape(STEPS)
    for step in STEPS:
        state = states[step.name]
        task = state["ItemProcessor"]["States"][f"{step.name} chunk"] if step.map_over_chunks else state
        assert task["TimeoutSeconds"] == step.timeout_seconds, step.name
        retry = step.retry
        expected = {
            "ErrorEquals": list(retry.errors),
            "MaxAttempts": retry.max_attempts,
            "IntervalSeconds": retry.interval_seconds,
            "BackoffRate": retry.backoff_rate,
        }
        assert (expected in task.get("Retry", [])) == (retry.max_attempts > 0), step.name
        if step is not shape.closing:
            # Every step but cleanup itself leads to cleanup when it fails.
            (catch,) = state["Catch"]
            assert catch == {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": f"{shape.closing.name} after failure",
            }


def test_work_steps_run_only_when_selected_and_map_over_the_chunks(dev: Synthesised) -> None:
    states = dev.state_machine_definition()["States"]
    for step in pipeline_shape(STEPS).work:
        select = states[f"Select {step.name}"]
        assert select["Parameters"] == {"selected.$": f"States.ArrayContains($.run.steps, '{step.name}')"}
        choice = states[select["Next"]]
        assert choice["Choices"][0]["Next"] == step.name
        assert choice["Default"] == states[step.name]["Next"]  # skipping goes where the step would
        if step.map_over_chunks:
            mapped = states[step.name]
            assert mapped["Type"] == "Map" and mapped["ItemsPath"] == "$.run.chunks"
            task = mapped["ItemProcessor"]["States"][f"{step.name} chunk"]
            command = task["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command.$"]
            assert command == f"States.Array('{step.name}', '--chunk', States.Format('{{}}', $.chunk))"
        elif step.kind == "fargate":
            task = states[step.name]
            assert task["Resource"].endswith(":states:::ecs:runTask.sync")
            assert task["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"] == [step.name]


def test_preflight_gets_the_execution_name_as_run_id(dev: Synthesised) -> None:
    opening = pipeline_shape(STEPS).opening
    state = dev.state_machine_definition()["States"][opening.name]
    assert state["Parameters"]["Payload"] == {"run_id.$": "$$.Execution.Name", "params.$": "$.params"}
    assert state["ResultPath"] == "$.run"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda steps: steps[1:], "first step 'staging' must be an unmapped lambda step"),
        (lambda steps: steps[:-1], "always_runs=True"),
        (lambda steps: (*steps, dataclasses.replace(steps[1])), "always_runs"),
        (lambda steps: (*steps[:-1], steps[2], steps[-1]), "duplicate step names"),
    ],
)
def test_step_lists_the_state_machine_cannot_express_are_refused(
    change: Callable[[tuple[Step, ...]], tuple[Step, ...]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pipeline_shape(change(STEPS))


def test_visited_steps_follows_next_choices_and_maps() -> None:
    definition: dict[str, Any] = {
        "StartAt": "a",
        "States": {
            "a": {"Type": "Task", "Next": "pick"},
            "pick": {"Type": "Choice", "Choices": [{"Next": "m"}], "Default": "end"},
            "m": {"Type": "Map", "ItemProcessor": {"StartAt": "x", "States": {}}, "Next": "skip"},
            "skip": {"Type": "Pass", "Next": "b"},
            "b": {"Type": "Task", "End": True},
            "end": {"Type": "Succeed"},
        },
    }
    assert visited_steps(definition) == ["a", "m", "b"]
    definition["States"]["b"] = {"Type": "Task", "Next": "a"}
    with pytest.raises(ValueError, match="loops back"):
        visited_steps(definition)
