"""Running one step with its ledger bookkeeping: shared by the local runner and the AWS adapters.

Whatever engine calls it, a work step (or one chunk of the mapped step) gets a 'running' row, then either
'succeeded' with its measured counts or 'failed' with the error, committed independently of the step's
own transactions (D20). The opening step (preflight) and the closing step (cleanup) keep their own rows:
the first creates the run they belong to, the second closes it. `close_run` is how both engines end a
run.
"""

from __future__ import annotations

import time

import psycopg
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
    if step in (SHAPE.opening, SHAPE.closing):
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
) -> StepResult:
    """How every engine ends a run (D19): record how its work steps ended, then run the closing step.

    The result carries the run's report. `ctx` defaults to the context the run was opened with (from
    the ledger). For a run the opening step refused (never opened), the report is built from `error`
    here and emailed like any other, since no ledger row holds it.
    """
    try:
        with res.pg_conn(autocommit=True) as conn:
            ledger.record_outcome(conn, run_id, outcome, error)
            if ctx is None:
                row = ledger.get_run(conn, run_id)
                ctx = RunContext.from_json(row["context"]) if row else None
    except psycopg.errors.UndefinedTable:
        pass  # no ledger in this schema: the opening step refused the run before opening it
    if ctx is None:
        ctx = RunContext.create(params, run_id=run_id)
    result = run_step(res, ctx, params, SHAPE.closing.name)
    if result.report is None:
        result.report = refused_report(ctx, params.environment, params.steps is None, error)
        if params.email.enabled:
            try:
                send_report_email(params.email, result.report)
            except Exception as exc:
                result.notes.append(f"email: {exc}")
                logger.exception("sending the report failed")
    return result
