"""The ordered step list, declared once.

Both engines are built from `STEPS`: the local runner (`visit_conflicts.local_runner`) executes it in-process,
and the CDK state machine (`infra/`) turns it into Step Functions states (Lambda or Fargate tasks, a Map
state for the chunked step, retries, and a catch path into the cleanup step). Nothing else may list
the steps or their order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
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

    def function(self) -> Callable[..., Any]:
        """The step's `run(res, ctx, params[, chunk=N]) -> StepResult`."""
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


@dataclass(frozen=True)
class PipelineShape:
    """The step list split the way both engines use it."""

    opening: Step  # first step: validates, takes the lock and opens the run (its context)
    work: tuple[Step, ...]  # in pipeline order, each run only when selected
    closing: Step  # the step that always runs (D19)


def pipeline_shape(steps: Sequence[Step]) -> PipelineShape:
    """Split `steps`; reject lists the engines cannot run, saying which step is wrong."""
    if len(steps) < 2:
        raise ValueError("the step list needs at least an opening step and a closing (always_runs) step")
    closing = [s for s in steps if s.always_runs]
    if len(closing) != 1 or steps[-1] is not closing[0]:
        raise ValueError("exactly one step must have always_runs=True, and it must be the last step")
    opening = steps[0]
    for step, role in ((opening, "first"), (closing[0], "always_runs")):
        if step.kind != "lambda" or step.map_over_chunks:
            raise ValueError(f"the {role} step {step.name!r} must be an unmapped lambda step")
    names = [s.name for s in steps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate step names {duplicates}")
    return PipelineShape(opening=opening, work=tuple(steps[1:-1]), closing=closing[0])


SHAPE = pipeline_shape(STEPS)
STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)
STEP_BY_NAME = {s.name: s for s in STEPS}
REPORTED_TABLES = ("conflictvisitmaps", "conflicts", "conflictlog_staging", "payer_provider_reminders")


def selected_work_steps(requested: Sequence[str] | None) -> list[Step]:
    """The work steps of a run, in pipeline order: all of them, or the requested subset (the opening and
    closing steps always run and are not selectable)."""
    if requested is None:
        return list(SHAPE.work)
    wanted = set(requested)
    return [s for s in SHAPE.work if s.name in wanted]
