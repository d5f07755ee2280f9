"""Lambda: preflight, the opening step.

Input (from the state machine): {"run_id": execution name, "execution_arn": execution id, "input": the
execution input}. Unknown keys, in the event or at the top of the execution input, are refused with a
clear error (`{"steps": [...]}` is not a full run). The execution ARN travels with the run so the ledger
can tell later whether the execution that owns a run still runs (states:DescribeExecution).

Output: the run context, the chunk list, the selected work steps and the parameter overrides for the
following states.
"""

from __future__ import annotations

from typing import Any

from visit_conflicts.adapters import (
    check_keys,
    execution_input,
    params_from_event,
    resources,
    transient_as_error_name,
)
from visit_conflicts.context import RunContext
from visit_conflicts.observability import bind, logger, metrics
from visit_conflicts.ownership import aws_owner
from visit_conflicts.pipeline import SHAPE, selected_work_steps
from visit_conflicts.step_runner import run_step

EVENT_KEYS = ("run_id", "execution_arn", "input")


@metrics.log_metrics
@logger.inject_lambda_context
@transient_as_error_name
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    check_keys("the preflight event", event, EVENT_KEYS)
    request = execution_input(event.get("input"))
    params = params_from_event(request)
    execution_arn = event.get("execution_arn")
    bind(run_id=event["run_id"], execution_arn=execution_arn)
    res = resources(params)
    # The execution owns the run: once it is no longer RUNNING, the next run may take the run over (D20).
    res.owner = aws_owner(execution_arn) if execution_arn else None
    # The execution name is the run id (D1); the opening step adds the watermark and the cutoff.
    result = run_step(res, RunContext.create(params, run_id=event["run_id"]), params, SHAPE.opening.name)
    ctx = result.context
    assert ctx is not None, "the opening step hands on the run context"
    return {
        "run_id": ctx.run_id,
        "context": ctx.to_json(),
        "params": request.get("params") or {},
        "chunks": params.planned_chunks(),
        "steps": [s.name for s in selected_work_steps(params.steps)],
        "preflight": result.to_json(),
    }
