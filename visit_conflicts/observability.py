"""One logger and one metrics object for the whole pipeline (Powertools), JSON logs carrying run_id,
step and chunk. Locally the logs go to stderr so that stdout stays free for reports and progress."""

from __future__ import annotations

import logging
import os
import sys

from aws_lambda_powertools import Logger, Metrics

from visit_conflicts.environment import running_in_aws

SERVICE = "visit-conflicts"

_in_aws = running_in_aws()

logger = Logger(
    service=SERVICE,
    level=os.environ.get("LOG_LEVEL", "INFO" if _in_aws else "WARNING"),
    logger_handler=None if _in_aws else logging.StreamHandler(sys.stderr),
)
metrics = Metrics(namespace="VisitConflicts", service=SERVICE)


def bind(**keys: object) -> None:
    """Attach run_id / step / chunk to every following log line."""
    logger.append_keys(**keys)


def set_level(level: str) -> None:
    logger.setLevel(level.upper())


def record_step_metrics(step: str, counts: dict[str, object], seconds: float) -> None:
    """Step duration and numeric counts as CloudWatch metrics (flushed by the adapter)."""
    if not _in_aws:
        return  # locally the report carries the same numbers; EMF lines would only clutter stdout
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name=f"{step}.seconds", unit=MetricUnit.Seconds, value=seconds)
    for key, value in counts.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics.add_metric(name=f"{step}.{key}", unit=MetricUnit.Count, value=value)
