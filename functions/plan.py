"""Lambda: plan. Records the run's scope and chunk assignment in the ledger; returns its counts."""

from __future__ import annotations

from typing import Any

from visit_conflicts.adapters import context_from_event, params_from_event, resources
from visit_conflicts.execution import run_step
from visit_conflicts.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    params = params_from_event(event)
    ctx = context_from_event(event)
    return run_step(resources(params), ctx, params, "plan").to_json()
