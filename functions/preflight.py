"""Lambda: preflight. Input: the execution input ({"run_id", "params"}); output: the run context, the
chunk list and the parameter overrides for the following states."""

from __future__ import annotations

from typing import Any

from visit_conflicts.adapters import params_from_event, resources
from visit_conflicts.context import RunContext
from visit_conflicts.observability import logger, metrics
from visit_conflicts.pipeline import SHAPE, selected_work_steps
from visit_conflicts.step_runner import run_step


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    params = params_from_event(event)
    # The execution name is the run id (D1); the opening step adds the watermark and the cutoff.
    result = run_step(
        resources(params), RunContext.create(params, run_id=event["run_id"]), params, SHAPE.opening.name
    )
    ctx = result.context
    assert ctx is not None, "the opening step hands on the run context"
    return {
        "run_id": ctx.run_id,
        "context": ctx.to_json(),
        "params": event.get("params") or {},
        "chunks": params.planned_chunks(),
        "steps": [s.name for s in selected_work_steps(params.steps)],
        "preflight": result.to_json(),
    }
