"""Lambda: cleanup + report. Runs on success, on the catch path and from the EventBridge rule for
executions that ended outside the state machine's control (D19). Input: {"run_id", "params",
"outcome", "error"}; output: the run's final status."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from visit_conflicts.adapters import params_from_event, resources
from visit_conflicts.observability import logger, metrics
from visit_conflicts.steps import cleanup


def _error_text(event: dict[str, Any]) -> str | None:
    error = event.get("error")
    if not error:
        return None
    if isinstance(error, dict):
        # Step Functions catch output: {"Error": ..., "Cause": ...}
        cause = error.get("Cause")
        with contextlib.suppress(json.JSONDecodeError):
            cause = json.loads(cause).get("errorMessage", cause) if isinstance(cause, str) else cause
        return f"{error.get('Error', 'Error')}: {cause}"
    return str(error)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    params = params_from_event(event)
    outcome = cleanup.run(
        resources(params),
        params,
        event["run_id"],
        outcome=event.get("outcome", "failed"),
        error=_error_text(event),
    )
    return {"run_id": event["run_id"], "status": outcome.report["status"], "problems": outcome.problems}
