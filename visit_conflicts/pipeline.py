"""The ordered step list, declared once.

Both engines are built from `STEPS`: the local runner (`visit_conflicts.runner`) executes it in-process,
and the CDK state machine (`infra/`) turns it into Step Functions states (Lambda or Fargate tasks, a Map
state for the chunked step, retries, and a catch path into the cleanup step). Nothing else may list
the steps or their order.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class RetryPolicy:
    """Retry of transient failures (connection drops, throttling); logic errors are never retried."""

    max_attempts: int = 0
    interval_seconds: int = 10
    backoff_rate: float = 2.0
    errors: tuple[str, ...] = ("States.TaskFailed",)


@dataclass(frozen=True)
class Step:
    name: str
    kind: Literal["lambda", "fargate"]
    summary: str
    map_over_chunks: bool = False
    always_runs: bool = False  # the cleanup step: runs after success, failure and cancellation (D19)
    writes: tuple[str, ...] = ()  # tables the step changes: cleanup maintains only these (D21)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: int = 900

    @property
    def module(self) -> str:
        return f"visit_conflicts.steps.{self.name}"

    def is_available(self) -> bool:
        """True when the step's module exists (later work adds steps; none is faked)."""
        return importlib.util.find_spec(self.module) is not None

    def function(self) -> Callable[..., Any]:
        return importlib.import_module(self.module).run  # type: ignore[no-any-return,unused-ignore]


_TRANSIENT = RetryPolicy(max_attempts=2, interval_seconds=20, backoff_rate=2.0)

STEPS: tuple[Step, ...] = (
    Step(
        "preflight",
        "lambda",
        "validate, check connectivity and tables, lock the run, disable pg_cron",
        timeout_seconds=300,
    ),
    Step(
        "staging",
        "fargate",
        "payer-provider sync, atomic conflictlog_staging rebuild, InProgressFlag=1",
        retry=_TRANSIENT,
        timeout_seconds=3600,
        writes=("payer_provider_reminders", "conflictlog_staging", "payers", "settings"),
    ),
    # Fargate, not Lambda: plan materialises the scope keys (millions of groups at full volume).
    Step(
        "plan",
        "fargate",
        "delta scope (groups) and its split into chunks",
        retry=_TRANSIENT,
        timeout_seconds=1800,
    ),
    Step(
        "detect",
        "fargate",
        "regular conflicts of one chunk: query Snowflake, upsert pairs",
        map_over_chunks=True,
        retry=_TRANSIENT,
        timeout_seconds=3600,
        writes=("conflictvisitmaps", "conflicts"),
    ),
    Step(
        "finalize",
        "fargate",
        "stale cleanup over the whole scope, only after every chunk succeeded",
        retry=_TRANSIENT,
        timeout_seconds=1800,
        writes=("conflictvisitmaps",),
    ),
    Step(
        "inservice",
        "fargate",
        "InService conflicts",
        retry=_TRANSIENT,
        timeout_seconds=3600,
        writes=("conflictvisitmaps", "conflicts"),
    ),
    Step(
        "status",
        "fargate",
        "status management: phases B, A, C",
        retry=_TRANSIENT,
        timeout_seconds=3600,
        writes=("conflictvisitmaps", "conflicts"),
    ),
    Step(
        "cleanup",
        "lambda",
        "restore pg_cron and InProgressFlag, maintenance, close the run, report",
        always_runs=True,
        retry=RetryPolicy(max_attempts=2, interval_seconds=5),
        timeout_seconds=900,
    ),
)

STEP_BY_NAME = {s.name: s for s in STEPS}
REPORTED_TABLES = ("conflictvisitmaps", "conflicts", "conflictlog_staging", "payer_provider_reminders")
WORK_STEPS = tuple(s for s in STEPS if s.name not in ("preflight", "cleanup"))


def available_work_steps() -> list[Step]:
    return [s for s in WORK_STEPS if s.is_available()]


def selected_work_steps(requested: list[str] | None) -> list[Step]:
    """The work steps of a run, in pipeline order: all available ones, or the requested subset."""
    available = available_work_steps()
    if requested is None:
        return available
    wanted = set(requested) - {"preflight", "cleanup"}
    missing = [name for name in wanted if not STEP_BY_NAME[name].is_available()]
    if missing:
        raise ValueError(f"step(s) {sorted(missing)} are not part of this build")
    return [s for s in available if s.name in wanted]
