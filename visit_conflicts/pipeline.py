"""The ordered step list, declared once.

Both engines are built from `STEPS`: the local runner (`visit_conflicts.local_runner`) executes it in-process,
and the CDK state machine (`infra/`) turns it into Step Functions states (Lambda or Fargate tasks, a Map
state for the chunked step, retries of transient failures, and a catch path into the closing steps).
Nothing else may list the steps or their order. The shape: one opening step (preflight), the work
steps (each run only when selected), and the closing steps that always run (restore, then report).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures only (`visit_conflicts.errors.is_transient`): a logic error is never
    retried. Each retry waits `interval_seconds * backoff_rate**n`, at most `max_delay_seconds`, with
    full jitter (a random wait between 0 and that), so parallel chunks do not retry in lockstep."""

    max_attempts: int = 0
    interval_seconds: int = 10
    backoff_rate: float = 2.0
    max_delay_seconds: int = 300

    def worst_case_wait_seconds(self) -> float:
        """The longest the retries of one failing call can wait in all (jitter only shortens it)."""
        return sum(
            min(self.interval_seconds * self.backoff_rate**n, self.max_delay_seconds)
            for n in range(self.max_attempts)
        )


@dataclass(frozen=True)
class Step:
    name: str
    kind: Literal["lambda", "fargate"]
    summary: str
    map_over_chunks: bool = False
    always_runs: bool = False  # a closing step: runs after success, failure and cancellation (D19)
    writes: tuple[str, ...] = ()  # tables the step changes: maintenance works only on these (D21)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # The longest one attempt may take (one chunk for the mapped step); see docs/runbook.md for the
    # production estimates behind each number.
    timeout_seconds: int = 900
    # Steps that are phases of one step module share its name as their family (status_b, status_a and
    # status_c are `steps/status.py` with phase B, A, C): the family owns the module, store, source,
    # SQL and tests; each phase is a state of its own. `options` are the module's keyword arguments.
    family: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    # Selected whenever the run selects a step that writes (maintenance follows any write).
    follows_writes: bool = False
    # Steps that must run in the same run before this one (finalize needs plan's scope and every
    # chunk of detect, D12): a rerun that repeats this step repeats those too.
    needs: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return f"visit_conflicts.steps.{self.family or self.name}"

    def function(self) -> Callable[..., Any]:
        """The step's `run(res, ctx, params[, chunk=N]) -> StepResult`, with its options bound."""
        run: Callable[..., Any] = importlib.import_module(self.module).run
        return functools.partial(run, **dict(self.options)) if self.options else run

    def worst_case_seconds(self) -> float:
        """One call's worst case: every attempt runs to its timeout, with the longest retry waits."""
        return self.timeout_seconds * (1 + self.retry.max_attempts) + self.retry.worst_case_wait_seconds()


# Transient failures of a long Fargate step: two more attempts, 30 s then 60 s (jittered).
_TRANSIENT = RetryPolicy(max_attempts=2, interval_seconds=30, backoff_rate=2.0)
# Lambda steps: short, so retried a little more and sooner.
_LAMBDA_TRANSIENT = RetryPolicy(max_attempts=3, interval_seconds=5, backoff_rate=2.0, max_delay_seconds=60)
_STATUS_WRITES = ("conflictvisitmaps", "conflicts")

STEPS: tuple[Step, ...] = (
    Step(
        "preflight",
        "lambda",
        "validate, check connectivity, tables and schema version, lock the run, disable pg_cron",
        retry=_LAMBDA_TRANSIENT,
        timeout_seconds=300,
    ),
    Step(
        "staging",
        "fargate",
        "payer-provider sync, atomic conflictlog_staging refresh (delta or rebuild), InProgressFlag=1",
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
        needs=("plan", "detect"),
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
        "status_b",
        "fargate",
        "status management phase B: pairs and conflicts of deleted visits",
        retry=_TRANSIENT,
        timeout_seconds=1800,
        writes=_STATUS_WRITES,
        family="status",
        options=(("phase", "B"),),
    ),
    Step(
        "status_a",
        "fargate",
        "status management phase A: cascades, aggregation, no-response resets",
        retry=_TRANSIENT,
        timeout_seconds=3600,
        writes=_STATUS_WRITES,
        family="status",
        options=(("phase", "A"),),
    ),
    Step(
        "status_c",
        "fargate",
        "status management phase C: computed columns",
        retry=_TRANSIENT,
        timeout_seconds=1800,
        writes=_STATUS_WRITES,
        family="status",
        options=(("phase", "C"),),
    ),
    # Fargate, not Lambda: VACUUM of ~9M-row tables and a concurrent view refresh can exceed 15 minutes.
    Step(
        "maintenance",
        "fargate",
        "VACUUM (ANALYZE) of the tables the run wrote, concurrent refresh of the payer view",
        retry=_TRANSIENT,
        timeout_seconds=7200,
        follows_writes=True,
    ),
    Step(
        "restore",
        "lambda",
        "restore pg_cron and InProgressFlag, close the run (frees the lock), purge its scratch rows",
        always_runs=True,
        retry=_LAMBDA_TRANSIENT,
        timeout_seconds=300,
    ),
    Step(
        "report",
        "lambda",
        "build the run report, store it in the ledger, email it",
        always_runs=True,
        retry=_LAMBDA_TRANSIENT,
        timeout_seconds=300,
    ),
)


@dataclass(frozen=True)
class PipelineShape:
    """The step list split the way both engines use it."""

    opening: Step  # first step: validates, takes the lock and opens the run (its context)
    work: tuple[Step, ...]  # in pipeline order, each run only when selected
    closing: tuple[Step, ...]  # the steps that always run, in order (D19)


def pipeline_shape(steps: Sequence[Step]) -> PipelineShape:
    """Split `steps`; reject lists the engines cannot run, saying which step is wrong."""
    if len(steps) < 2:
        raise ValueError("the step list needs at least an opening step and a closing (always_runs) step")
    first_closing = next((i for i, s in enumerate(steps) if s.always_runs), None)
    if first_closing is None or first_closing == 0:
        raise ValueError("the step list must end with at least one always_runs=True step after the first")
    closing = tuple(steps[first_closing:])
    if not all(s.always_runs for s in closing):
        raise ValueError("the always_runs=True steps must come last, together")
    opening = steps[0]
    for step, role in ((opening, "first"), *((s, "always_runs") for s in closing)):
        if step.kind != "lambda" or step.map_over_chunks:
            raise ValueError(f"the {role} step {step.name!r} must be an unmapped lambda step")
    names = [s.name for s in steps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate step names {duplicates}")
    families = {s.family for s in steps if s.family} & set(names)
    if families:
        raise ValueError(f"family names {sorted(families)} are also step names")
    return PipelineShape(opening=opening, work=tuple(steps[1:first_closing]), closing=closing)


SHAPE = pipeline_shape(STEPS)
STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)
STEP_BY_NAME = {s.name: s for s in STEPS}
# What `steps` may name: a step, or a family standing for all its phases ("status").
STEP_SELECTORS: tuple[str, ...] = STEP_NAMES + tuple(dict.fromkeys(s.family for s in STEPS if s.family))
REPORTED_TABLES = ("conflictvisitmaps", "conflicts", "conflictlog_staging", "payer_provider_reminders")


def selected_work_steps(requested: Sequence[str] | None) -> list[Step]:
    """The work steps of a run, in pipeline order: all of them, or the requested subset (the opening and
    closing steps always run and are not selectable). A family name selects all its phases; a step
    that follows writes (maintenance) is added when a selected step writes."""
    if requested is None:
        return list(SHAPE.work)
    wanted = set(requested)
    chosen = [s for s in SHAPE.work if s.name in wanted or (s.family is not None and s.family in wanted)]
    writes = any(s.writes for s in chosen)
    return [s for s in SHAPE.work if s in chosen or (s.follows_writes and writes)]
