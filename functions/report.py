"""Lambda: report, the last closing state. Builds the run's report, stores it in the ledger and emails
it (D22); its result tells the state machine whether the run succeeded, and for a failed run which
execution input finishes the work (redrive is not supported). Event and result: `functions.closing`."""

from __future__ import annotations

from typing import Any

from functions.closing import close, summary
from visit_conflicts.adapters import transient_as_error_name
from visit_conflicts.observability import logger, metrics

STEP = "report"


@metrics.log_metrics
@logger.inject_lambda_context
@transient_as_error_name
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return summary(event, close(event, [STEP]))
