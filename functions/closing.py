"""What the closing Lambdas (restore, report, and the abnormal-end cleanup) share: reading their event
and ending the run through `step_runner.close_run`.

Event: {"run_id", "input": the execution input (object, or text as EventBridge sends it), "outcome",
"error"} and, from the abnormal-end rule, "execution_arn". The input only locates the run (its target
schema); the run is closed with the parameters the ledger stored for it. An invalid input still closes
the run (D19), with the environment's configuration, and the rejection is reported.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any, get_args

from visit_conflicts.adapters import check_keys, params_for_cleanup, resources
from visit_conflicts.observability import bind
from visit_conflicts.step_api import StepResult
from visit_conflicts.step_runner import close_run
from visit_conflicts.store.ledger import Outcome

EVENT_KEYS = ("run_id", "input", "outcome", "error", "execution_arn")


def error_text(error: Any) -> str | None:
    """The error the engine passed: a Step Functions catch output {"Error", "Cause"} or text."""
    if not error:
        return None
    if isinstance(error, dict):
        cause = error.get("Cause")
        with contextlib.suppress(json.JSONDecodeError, AttributeError):
            cause = json.loads(cause).get("errorMessage", cause) if isinstance(cause, str) else cause
        return f"{error.get('Error', 'Error')}: {cause}"
    return str(error)


def close(event: dict[str, Any], steps: Sequence[str] | None) -> StepResult:
    """Close the run of `event` with the closing `steps` (all when None)."""
    check_keys("the closing event", event, EVENT_KEYS)
    bind(run_id=event["run_id"])
    params, input_problem = params_for_cleanup(event.get("input"))
    errors = [e for e in (error_text(event.get("error")), input_problem) if e]
    # The state machine and the abnormal-end rule send one of the ledger's outcomes; anything else (or
    # nothing) is a failure.
    known = {o for o in get_args(Outcome) if o == event.get("outcome")}
    outcome: Outcome = known.pop() if known else "failed"
    return close_run(
        resources(params),
        params,
        event["run_id"],
        outcome="failed" if input_problem and outcome == "succeeded" else outcome,
        error="; ".join(errors) or None,
        steps=steps,
    )


def summary(event: dict[str, Any], result: StepResult) -> dict[str, Any]:
    """The small result a closing state keeps: the run's status (from the report when there is one),
    the problems, and a message for the execution's Fail state."""
    status = result.report["status"] if result.report is not None else result.status
    message = "; ".join(result.notes) or f"run {event['run_id']} ended {status}"
    # A Fail state's cause is limited to 32 KiB; the report in the ledger has the whole story.
    return {"run_id": event["run_id"], "status": status, "problems": result.notes, "message": message[:4000]}
