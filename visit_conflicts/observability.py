"""One logger and one metrics object for the whole pipeline (Powertools), every line carrying run_id,
step and chunk.

In AWS (and with `--log-format json`) the lines are JSON, tracebacks included, for CloudWatch. Locally
they are one human-readable line each on stderr (stdout stays free for reports and progress), and never
carry a traceback: an operator reads what failed and what to do, not a stack.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from visit_conflicts.environment import running_in_aws

SERVICE = "visit-conflicts"
LogFormat = Literal["human", "json"]

_in_aws = running_in_aws()
# Keys of every JSON line that a human line leaves out (the same for every line, or shown in front).
_QUIET_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "run_id",
        "step",
        "chunk",
        "exception",
        "exception_name",
        "exception_notes",
        "stack_trace",
        "xray_trace_id",
        "report",  # printed in full by the command itself
    }
)


class HumanFormatter(LambdaPowertoolsFormatter):
    """`12:03:04 WARNING detect[2] transient failure, retrying attempt=1 error=...`: the message, where it
    happened and its extra keys; no traceback."""

    def serialize(self, log: Any) -> str:
        where = str(log.get("step") or "")
        if log.get("chunk") not in (None, ""):
            where += f"[{log['chunk']}]"
        extras = " ".join(f"{k}={v}" for k, v in log.items() if k not in _QUIET_KEYS and v is not None)
        stamp = time.strftime("%H:%M:%S")
        return " ".join(
            p for p in (stamp, str(log.get("level", "")), where, str(log.get("message")), extras) if p
        )


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is emitted (not the stream of import time), so
    that a redirection of stderr, or a test capturing it, gets the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _formatter(fmt: LogFormat) -> LambdaPowertoolsFormatter:
    return HumanFormatter() if fmt == "human" else LambdaPowertoolsFormatter()


_default_format: LogFormat = "json" if _in_aws or os.environ.get("VC_LOG_FORMAT") == "json" else "human"
logger = Logger(
    service=SERVICE,
    level=os.environ.get("LOG_LEVEL", "INFO" if _in_aws else "WARNING"),
    logger_handler=None if _in_aws else _StderrHandler(),
    logger_formatter=_formatter(_default_format),
)
metrics = Metrics(namespace="VisitConflicts", service=SERVICE)


def log_format() -> LogFormat:
    return "human" if isinstance(logger.registered_formatter, HumanFormatter) else "json"


def set_format(fmt: LogFormat) -> None:
    """Switch between human lines and JSON (before the first `bind`: the keys live in the formatter)."""
    logger.registered_handler.setFormatter(_formatter(fmt))


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
