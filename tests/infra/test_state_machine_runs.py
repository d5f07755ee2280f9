"""The synthesised state machine, executed locally (moto's ASL interpreter) with the step work stubbed
and the real Lambda handlers and container entrypoint in between: the success path, failures that
still run cleanup (D19), retries, and reruns of selected steps and chunks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra import constants as c
from infra.state_machine import visited_steps
from tests.infra.sfn_local import ALWAYS, LocalStepFunctions, StubbedWork
from tests.infra.support import Synthesised
from visit_conflicts.pipeline import STEPS, pipeline_shape, selected_work_steps

SHAPE = pipeline_shape(STEPS)
OPENING, CLOSING = SHAPE.opening.name, SHAPE.closing.name
MAPPED = next(s for s in SHAPE.work if s.map_over_chunks)
AFTER_MAPPED = SHAPE.work[SHAPE.work.index(MAPPED) + 1]


@pytest.fixture
def work() -> StubbedWork:
    return StubbedWork()


@pytest.fixture
def machine(
    dev: Synthesised, monkeypatch: pytest.MonkeyPatch, work: StubbedWork
) -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions(dev, monkeypatch, work).running() as local:
        yield local


def _step_states(local: LocalStepFunctions, entered: list[str]) -> list[str]:
    names = set(visited_steps(local.definition))
    order: list[str] = []
    for name in entered:
        if name in names and name not in order:
            order.append(name)
    return order


def test_success_runs_every_step_in_order_then_cleanup(machine: LocalStepFunctions) -> None:
    run = machine.execute("run-success", {"params": {}})

    assert (run.status, run.error) == ("SUCCEEDED", None)
    assert run.steps() == [s.name for s in STEPS]
    assert _step_states(machine, run.entered) == visited_steps(machine.definition)
    # Until the Map's items come from plan's result, it maps over every chunk plan may decide.
    planned = run.calls[0].params["chunks"] or run.calls[0].params["max_chunks"]
    assert run.chunks(MAPPED.name) == list(range(planned))
    # The execution name is the run id everywhere (D1), also inside the Fargate payload.
    assert {call.run_id for call in run.calls} == {"run-success"}
    cleanup = run.calls[-1]
    assert (cleanup.step, cleanup.outcome, cleanup.error) == (CLOSING, c.OUTCOME_SUCCEEDED, None)
    assert run.retry_waits == []


def test_input_without_params_runs_with_the_environments_config(machine: LocalStepFunctions) -> None:
    run = machine.execute("run-no-params", {})

    assert run.status == "SUCCEEDED"
    assert c.STATE_DEFAULT_PARAMS in run.entered
    assert run.steps() == [s.name for s in STEPS]


def test_failing_step_is_retried_then_cleanup_runs_and_the_run_fails(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    """D19: a step that keeps failing still ends in cleanup, with the error; later steps do not run."""
    failing = AFTER_MAPPED
    work.fail[failing.name] = ALWAYS

    run = machine.execute("run-step-fails", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_STEP_FAILED)
    names = [s.name for s in STEPS]
    assert run.steps() == [*names[: names.index(failing.name) + 1], CLOSING]
    retry = failing.retry
    assert run.attempts(failing.name) == 1 + retry.max_attempts
    assert run.retry_waits == [
        retry.interval_seconds * retry.backoff_rate**n for n in range(retry.max_attempts)
    ]
    cleanup = run.calls[-1]
    assert cleanup.outcome == c.OUTCOME_FAILED
    assert cleanup.error is not None and cleanup.error.startswith("States.TaskFailed")


def test_failing_chunk_fails_the_map_and_the_whole_scope_step_never_runs(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    """D12: no stale cleanup after a partial detection; cleanup still runs (D19)."""
    work.fail[f"{MAPPED.name}:2"] = ALWAYS

    run = machine.execute("run-chunk-fails", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_STEP_FAILED)
    assert AFTER_MAPPED.name not in run.steps()
    assert run.attempts(MAPPED.name, 2) == 1 + MAPPED.retry.max_attempts
    assert run.calls[-1].outcome == c.OUTCOME_FAILED


def test_transient_chunk_failure_is_retried_and_the_run_succeeds(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    work.fail[f"{MAPPED.name}:5"] = 1

    run = machine.execute("run-chunk-retried", {"params": {}})

    assert run.status == "SUCCEEDED"
    assert run.attempts(MAPPED.name, 5) == 2
    assert run.retry_waits == [MAPPED.retry.interval_seconds]


def test_rerun_of_selected_steps_and_chunks(machine: LocalStepFunctions) -> None:
    """A console rerun: a new execution whose input names the steps and chunks (validated by preflight);
    the chunk count is the repeated run's, since plan does not run."""
    selected = [MAPPED.name, AFTER_MAPPED.name]
    overrides = {"steps": selected, "chunks": 4, "chunk_subset": [1, 3], "lookback_hours": 72}

    run = machine.execute("rerun-detect-finalize", {"params": overrides})

    assert run.status == "SUCCEEDED"
    local_runner = [s.name for s in selected_work_steps(selected)]
    assert run.steps() == [OPENING, *local_runner, CLOSING] == [OPENING, *selected, CLOSING]
    assert run.chunks(MAPPED.name) == [1, 3]
    # Every step, in Lambda or Fargate, sees the same overrides.
    for call in run.calls:
        assert call.params["steps"] == selected
        assert call.params["chunk_subset"] == [1, 3]
        assert call.params["lookback_hours"] == 72


def test_preflight_failure_still_runs_cleanup(machine: LocalStepFunctions, work: StubbedWork) -> None:
    """D19/D20: a run refused by preflight (e.g. the lock is held) is still closed and reported."""
    work.fail[OPENING] = ALWAYS

    run = machine.execute("run-refused", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_STEP_FAILED)
    assert run.steps() == [OPENING, CLOSING]
    assert run.calls[-1].error is not None and "stubbed failure" in run.calls[-1].error


def test_cleanup_reporting_a_failure_fails_the_execution(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    work.cleanup_status = "failed"

    run = machine.execute("run-cleanup-problems", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)


def test_invalid_params_are_reported_by_the_catch_path_cleanup(machine: LocalStepFunctions) -> None:
    """D3 + D19: preflight rejects unknown keys; the catch-path cleanup falls back to the environment's
    configuration, so it still runs and the execution ends in the state machine's own Fail state with
    the configuration error in the run's error."""
    run = machine.execute("run-bad-params", {"params": {"no_such_key": 1}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_STEP_FAILED)
    assert run.steps() == [CLOSING]
    cleanup_call = run.calls[-1]
    assert cleanup_call.outcome == "failed"
    assert cleanup_call.error is not None
    assert "no_such_key" in cleanup_call.error and "unknown key" in cleanup_call.error
