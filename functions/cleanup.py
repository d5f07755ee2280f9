"""Lambda: cleanup after an abnormal end (D19), invoked by EventBridge for executions that timed out,
were aborted or failed outside the state machine's own closing states. Runs every closing step
(restore, then report) through `step_runner.close_run`, with the run's own parameters from the ledger.

Event (from the rule's input transformer): {"run_id", "execution_arn", "input": the execution input as
text, "outcome", "error"}. If the execution is running again by the time this runs (an operator
redrove it before the cleanup came), the run is left to that execution's own closing states: closing it
here would let the redriven steps be refused half-way. Failures are retried by EventBridge and end in
the rule's dead-letter queue, which raises an alarm.
"""

from __future__ import annotations

from typing import Any

from functions.closing import close, summary
from visit_conflicts.observability import logger, metrics


def execution_running(execution_arn: str | None) -> bool:
    """True only when Step Functions says the execution is RUNNING (again); any doubt means clean up."""
    if not execution_arn:
        return False
    try:
        import boto3

        described = boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)
    except Exception:
        logger.exception("describing the execution failed; cleaning up anyway")
        return False
    return described.get("status") == "RUNNING"


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if execution_running(event.get("execution_arn")):
        logger.info("the execution runs again (redriven): its own closing states end the run")
        return {"run_id": event["run_id"], "status": "skipped", "problems": [], "message": "redriven"}
    return summary(event, close(event, None))
