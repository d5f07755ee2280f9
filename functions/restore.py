"""Lambda: restore, the first closing state (after success, and on the catch path after a failure).
Records the outcome, restores pg_cron and InProgressFlag, closes the run (frees the lock) and purges its
scratch rows; short statements only. Event and result: `functions.closing`."""

from __future__ import annotations

from typing import Any

from functions.closing import close, summary
from visit_conflicts.adapters import transient_as_error_name
from visit_conflicts.observability import logger, metrics

STEP = "restore"


@metrics.log_metrics
@logger.inject_lambda_context
@transient_as_error_name
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return summary(event, close(event, [STEP]))
