"""The synthesised state machine, executed locally (moto's ASL interpreter) with the step work stubbed
and the real Lambda handlers and container entrypoint in between: the success path, failures that
still run the closing steps (D19), retries of transient failures only, an abort with the abnormal-end
cleanup, reruns of selected steps and chunks, and a redrive that is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra import constants as c
from infra.state_machine import visited_steps
from tests.infra.sfn_local import ALWAYS, LocalStepFunctions, StubbedWork
from tests.infra.support import Synthesised
from visit_conflicts.pipeline import STEPS, pipeline_shape, selected_work_steps

SHAPE = pipeline_shape(STEPS)
OPENING = SHAPE.opening.name
CLOSING = [s.name for s in SHAPE.closing]
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


def test_success_runs_every_step_in_order_then_the_closing_steps(machine: LocalStepFunctions) -> None:
    run = machine.execute("run-success", {"params": {}})

    assert (run.status, run.error) == ("SUCCEEDED", None)
    assert run.steps() == [s.name for s in STEPS]
    assert _step_states(machine, run.entered) == visited_steps(machine.definition)
    # Until the Map's items come from plan's result, it maps over every chunk plan may decide.
    planned = run.calls[0].params["chunks"] or run.calls[0].params["max_chunks"]
    assert run.chunks(MAPPED.name) == list(range(planned))
    # The execution name is the run id everywhere (D1), also inside the Fargate payload.
    assert {call.run_id for call in run.calls} == {"run-success"}
    for call in run.calls[-len(CLOSING) :]:
        assert (call.outcome, call.error) == (c.OUTCOME_SUCCEEDED, None)
    assert run.retry_waits == []


def test_empty_input_runs_with_the_environments_config(machine: LocalStepFunctions) -> None:
    run = machine.execute("run-no-params", {})

    assert run.status == "SUCCEEDED"
    assert run.steps() == [s.name for s in STEPS]


def test_a_permanent_failure_is_not_retried_and_the_closing_steps_run(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    """D19 and no retry of logic errors: one attempt, then restore and report; later steps never run;
    the Fail state's cause is the report's message."""
    failing = AFTER_MAPPED
    work.fail[failing.name] = ALWAYS

    run = machine.execute("run-step-fails", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)
    names = [s.name for s in STEPS]
    assert run.steps() == [*names[: names.index(failing.name) + 1], *CLOSING]
    assert run.attempts(failing.name) == 1
    assert run.retry_waits == []
    restore = next(call for call in run.calls if call.step == CLOSING[0])
    assert restore.outcome == c.OUTCOME_FAILED
    assert restore.error is not None and restore.error.startswith(c.ERROR_PERMANENT)
    assert run.cause == "report of run-step-fails: failed"


def test_a_transient_failure_is_retried_with_backoff_and_jitter(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    failing = AFTER_MAPPED
    work.fail[failing.name] = ALWAYS
    work.transient.add(failing.name)

    run = machine.execute("run-step-transient", {"params": {}})

    assert run.status == "FAILED"
    retry = failing.retry
    assert run.attempts(failing.name) == 1 + retry.max_attempts
    ceilings = [
        min(retry.interval_seconds * retry.backoff_rate**n, retry.max_delay_seconds) for n in range(2)
    ]
    assert len(run.retry_waits) == retry.max_attempts
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(run.retry_waits, ceilings, strict=True))


def test_failing_chunk_fails_the_map_and_the_whole_scope_step_never_runs(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    """D12: no stale cleanup after a partial detection; the closing steps still run (D19)."""
    work.fail[f"{MAPPED.name}:2"] = ALWAYS

    run = machine.execute("run-chunk-fails", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)
    assert AFTER_MAPPED.name not in run.steps()
    assert run.attempts(MAPPED.name, 2) == 1
    assert run.calls[-1].outcome == c.OUTCOME_FAILED


def test_transient_chunk_failure_is_retried_and_the_run_succeeds(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    work.fail[f"{MAPPED.name}:5"] = 1
    work.transient.add(f"{MAPPED.name}:5")

    run = machine.execute("run-chunk-retried", {"params": {}})

    assert run.status == "SUCCEEDED"
    assert run.attempts(MAPPED.name, 5) == 2
    assert len(run.retry_waits) == 1 and 0 <= run.retry_waits[0] <= MAPPED.retry.interval_seconds


def test_rerun_of_selected_steps_and_chunks(machine: LocalStepFunctions) -> None:
    """A console rerun: a new execution whose input names the steps and chunks (validated by preflight);
    the chunk count is the repeated run's, since plan does not run."""
    selected = [MAPPED.name, AFTER_MAPPED.name]
    overrides = {"steps": selected, "chunks": 4, "chunk_subset": [1, 3], "lookback_hours": 72}

    run = machine.execute("rerun-detect-finalize", {"params": overrides})

    assert run.status == "SUCCEEDED"
    local_runner = [s.name for s in selected_work_steps(selected)]
    assert run.steps() == [OPENING, *local_runner, *CLOSING]
    assert "maintenance" in local_runner  # follows the writes of the selected steps
    assert run.chunks(MAPPED.name) == [1, 3]
    # Every step, in Lambda or Fargate, sees the same overrides.
    for call in run.calls:
        assert call.params["steps"] == selected
        assert call.params["chunk_subset"] == [1, 3]
        assert call.params["lookback_hours"] == 72


def test_preflight_failure_still_runs_the_closing_steps(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    """D19/D20: a run refused by preflight (e.g. the lock is held) is still closed and reported."""
    work.fail[OPENING] = ALWAYS

    run = machine.execute("run-refused", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)
    assert run.steps() == [OPENING, *CLOSING]
    assert run.calls[-1].error is not None and "stubbed failure" in run.calls[-1].error


def test_a_report_that_is_not_succeeded_fails_the_execution(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    work.report_status = "failed"

    run = machine.execute("run-restore-problems", {"params": {}})

    assert (run.status, run.error) == ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)


@pytest.mark.parametrize(
    "execution_input",
    [{"params": {"no_such_key": 1}}, {"steps": ["detect"]}],
    ids=["unknown-param", "unknown-top-level-key"],
)
def test_invalid_input_is_refused_and_reported_by_the_closing_steps(
    machine: LocalStepFunctions, execution_input: dict[str, object]
) -> None:
    """D3 + D19: preflight rejects unknown keys, at the top of the input too ({"steps": [...]} is not
    a full run); the closing steps still run with the environment's configuration and carry the error."""
    run = machine.execute("run-bad-input", execution_input)

    assert (run.status, run.error) == ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)
    assert run.steps() == CLOSING
    restore = run.calls[0]
    assert restore.outcome == "failed" and restore.error is not None
    assert "unknown" in restore.error


def test_abort_ends_with_the_abnormal_end_cleanup(machine: LocalStepFunctions, work: StubbedWork) -> None:
    """D19: an execution stopped by hand never reaches its closing states; the status-change event,
    through the synthesised rule, invokes the cleanup Lambda, which runs every closing step."""
    machine.stop_when(AFTER_MAPPED.name)

    run = machine.execute("run-aborted", {"params": {"lookback_hours": 48}})

    assert run.status == "ABORTED"
    assert not set(CLOSING) & set(run.steps())
    work.calls.clear()
    cleaned = machine.deliver_status_change("run-aborted", {"params": {"lookback_hours": 48}})
    assert cleaned is not None and cleaned["status"] == c.OUTCOME_CANCELLED
    assert [call.step for call in work.calls] == CLOSING
    assert all(call.outcome == c.OUTCOME_CANCELLED for call in work.calls)
    # The execution input reaches the cleanup: it locates the run (its schema override).
    assert work.calls[0].params["lookback_hours"] == 48


def test_redrive_after_the_run_was_closed_is_refused_without_writing(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    """Redrive is denied: after the abnormal-end cleanup closed the aborted run, a redrive resumes at
    the aborted step, which is refused (the run no longer holds the lock) as a permanent error: no
    retry, no later step, the closing steps leave the closed run alone, and the Fail state says to
    start a new execution."""
    machine.stop_when(AFTER_MAPPED.name)
    machine.execute("run-redriven", {"params": {}})
    machine.deliver_status_change("run-redriven", {"params": {}})
    work.on_step.clear()

    redriven = machine.redrive("run-redriven", AFTER_MAPPED.name, {"params": {}})

    assert (redriven.status, redriven.error) == ("FAILED", c.ERROR_RUN_NOT_SUCCEEDED)
    assert [call.step for call in redriven.calls] == CLOSING  # no step did any work
    assert redriven.retry_waits == []
    restore = redriven.calls[0]
    assert restore.error is not None and c.ERROR_PERMANENT in restore.error


def test_a_caught_failure_ends_in_the_fail_state_whose_cause_is_the_report(
    machine: LocalStepFunctions, work: StubbedWork
) -> None:
    """The catch path has run the closing steps: the abnormal-end rules ignore its Fail state."""
    work.fail["staging"] = ALWAYS
    run = machine.execute("run-caught", {"params": {}})
    assert run.error == c.ERROR_RUN_NOT_SUCCEEDED
    assert machine.deliver_status_change("run-caught", {"params": {}}) is None
    assert json.dumps(run.cause)
