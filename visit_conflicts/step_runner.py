"""Running one step with its ledger bookkeeping: shared by the local runner and the AWS adapters.

Whatever engine calls it, a work step (or one chunk of the mapped step) gets a 'running' row, then either
'succeeded' with its measured counts or 'failed' with the error, committed independently of the step's
own transactions (D20). A work step runs only while its run is open and holds the lock: the ledger
refuses its row otherwise (`ledger.RunNotOpenError`), before the step is called, so a step re-entered
after its run was closed (a redriven execution, a stray retry) writes nothing. The opening step
(preflight) and the closing steps (restore, report) keep their own rows: the first creates the run they
belong to, the others close and report it.

`close_run` is how every engine ends a run, and the only way: the local runner, the state machine's
closing states and the abnormal-end rule all call it (as does the takeover of a dead run).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from pydantic import ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.errors import is_transient
from visit_conflicts.mail import send_report_email
from visit_conflicts.observability import logger, record_step_metrics
from visit_conflicts.pipeline import SHAPE, STEP_BY_NAME
from visit_conflicts.report import refused_report
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store import ledger
from visit_conflicts.store.db import StoreError


def run_step(
    res: Resources, ctx: RunContext, params: Params, step_name: str, *, chunk: int | None = None
) -> StepResult:
    """Run `step_name` (one `chunk` of it when it is mapped) and record it in the ledger.

    A transient failure (`errors.is_transient`: a dropped connection, a deadlock, throttling) is retried
    up to `retry_attempts` times in all, after a random exponential wait (`retry_wait_seconds` is the
    base); every attempt has its ledger row attempt number. Steps are rerunnable, so a retry converges.
    Permanent failures are raised at once.
    """
    step = STEP_BY_NAME[step_name]
    func = step.function()
    if step is SHAPE.opening or step in SHAPE.closing:
        result: StepResult = func(res, ctx, params)
        return result
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(params.retry_attempts),
        wait=wait_random_exponential(
            multiplier=params.retry_wait_seconds, max=60 * params.retry_wait_seconds
        ),
        before_sleep=_log_retry,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            result = _attempt(res, ctx, params, step_name, chunk)
    return result


def _attempt(
    res: Resources, ctx: RunContext, params: Params, step_name: str, chunk: int | None
) -> StepResult:
    step = STEP_BY_NAME[step_name]
    func = step.function()
    chunk_key = ledger.NOT_CHUNKED if chunk is None else chunk
    with res.pg_conn(autocommit=True) as conn:
        attempt = ledger.step_started(conn, ctx.run_id, step_name, chunk_key)
    extra = {"run_id": ctx.run_id, "step": step_name, "chunk": chunk, "attempt": attempt}
    logger.info("step started", extra=extra)
    started = time.perf_counter()
    try:
        check_cancelled(res.cancel)
        result: StepResult = (
            func(res, ctx, params, chunk=chunk) if step.map_over_chunks else func(res, ctx, params)
        )
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        try:
            with res.pg_conn(autocommit=True) as conn:
                ledger.step_finished(
                    conn, ctx.run_id, step_name, status="failed", error=message, chunk=chunk_key
                )
        except (psycopg.Error, StoreError) as ledger_exc:
            # The database is what failed: the step's own error is the one to report.
            logger.warning("could not record the failed step", extra={**extra, "error": str(ledger_exc)})
        logger.error("step failed", extra={**extra, "error": message})
        raise
    with res.pg_conn(autocommit=True) as conn:
        ledger.step_finished(
            conn, ctx.run_id, step_name, status=result.status, counts=result.counts, chunk=chunk_key
        )
    logger.info("step finished", extra={**extra, "counts": result.counts})
    record_step_metrics(step_name, result.counts, time.perf_counter() - started)
    return result


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "transient failure, retrying",
        extra={
            "attempt": state.attempt_number,
            "wait_seconds": round(state.upcoming_sleep, 2),
            "error": f"{type(error).__name__}: {error}",
        },
    )


def close_run(
    res: Resources,
    params: Params,
    run_id: str,
    *,
    outcome: ledger.Outcome,
    error: str | None,
    ctx: RunContext | None = None,
    steps: Sequence[str] | None = None,
) -> StepResult:
    """End a run (D19): record how its work steps ended, then run the closing steps (restore, report).

    `outcome` is any outcome the ledger admits ('succeeded', 'failed', 'cancelled', ...); it is recorded
    only while the run is still open. The closing steps work with the run's own parameters as the ledger
    stored them at preflight (schema overrides aside, which `res` already carries: the cron job name,
    the idle flag value, the email settings of that run), not `params`, which only stand in for a run
    that was never opened. `ctx` defaults to the context the run was opened with. `steps` limits the
    call to some closing steps: each closing state of the state machine runs its own; every other caller
    runs them all. Every closing step is attempted even if an earlier one raised; the first such error is
    raised after the last one ran.

    The result is the last closing step's, with every closing step's notes; `.report` is the run's
    report. For a run the opening step refused (never opened), the report is built from `error` here and
    emailed like any other, since no ledger row holds it.
    """
    row: dict[str, Any] | None = None
    try:
        with res.pg_conn(autocommit=True) as conn:
            ledger.record_outcome(conn, run_id, outcome, error)
            row = ledger.get_run(conn, run_id)
    except psycopg.errors.UndefinedTable:
        pass  # no ledger in this schema: the opening step refused the run before opening it
    notes: list[str] = []
    run_params = params
    if row is not None:
        run_params, problem = _run_params(row, params)
        notes.extend([problem] if problem else [])
        if ctx is None:
            ctx = RunContext.from_json(row["context"])
    if ctx is None:
        ctx = RunContext.create(params, run_id=run_id)
    closing = [s for s in SHAPE.closing if steps is None or s.name in steps]
    result = StepResult()
    first_error: BaseException | None = None
    failed = False
    for step in closing:
        try:
            result = run_step(res, ctx, run_params, step.name)
        except Exception as exc:
            logger.exception("closing step failed", extra={"run_id": run_id, "step": step.name})
            first_error = first_error or exc
            failed = True
            notes.append(f"{step.name}: {type(exc).__name__}: {exc}")
            continue
        failed = failed or result.status == "failed"
        notes.extend(f"{step.name}: {note}" for note in result.notes)
    if first_error is not None:
        raise first_error
    result.notes = notes
    result.status = "failed" if failed else result.status
    if result.report is None and closing and closing[-1] is SHAPE.closing[-1]:
        result.report = refused_report(ctx, params.environment, params.steps is None, error)
        if params.email.enabled:
            try:
                send_report_email(params.email, result.report)
            except Exception as exc:
                result.notes.append(f"email: {exc}")
                logger.exception("sending the report failed")
    return result


def _run_params(row: dict[str, Any], fallback: Params) -> tuple[Params, str | None]:
    """The parameters the run was opened with (pipeline_run.params); `fallback` when they no longer
    validate (a run opened by an older release), saying so."""
    try:
        return Params.model_validate_json(json.dumps(row["params"])), None
    except ValidationError as exc:
        return fallback, (
            f"the run's stored parameters no longer validate ({exc.error_count()} error(s)); "
            "closed with the environment's configuration"
        )
