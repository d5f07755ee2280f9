"""Lambda: cleanup + report. Runs on success, on the catch path and from the EventBridge rule for
executions that ended outside the state machine's control (D19). Input: {"run_id", "params",
"outcome", "error"}; output: the run's final status."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from visit_conflicts.adapters import params_for_cleanup, resources
from visit_conflicts.observability import logger, metrics
from visit_conflicts.step_runner import close_run


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
    params, input_problem = params_for_cleanup(event)
    errors = [e for e in (_error_text(event), input_problem) if e]
    result = close_run(
        resources(params),
        params,
        event["run_id"],
        outcome=event.get("outcome", "failed") if not input_problem else "failed",
        error="; ".join(errors) or None,
    )
    assert result.report is not None, "close_run always hands on the run's report"
    return {"run_id": event["run_id"], "status": result.report["status"], "problems": result.notes}
