"""Lambda: preflight. Input: the execution input ({"run_id", "params"}); output: the run context, the
chunk list and the parameter overrides for the following states."""

from __future__ import annotations

from typing import Any

from visit_conflicts.adapters import params_from_event, resources
from visit_conflicts.observability import logger, metrics
from visit_conflicts.pipeline import selected_work_steps
from visit_conflicts.steps import preflight


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    params = params_from_event(event)
    work = selected_work_steps(params.steps)
    ctx, result = preflight.run(
        resources(params),
        params,
        run_id=event["run_id"],
        steps=[s.name for s in work],
        full_run=params.steps is None,
    )
    return {
        "run_id": ctx.run_id,
        "context": ctx.to_json(),
        "params": event.get("params") or {},
        "chunks": params.planned_chunks(),
        "steps": [s.name for s in work],
        "preflight": result.to_json(),
    }
