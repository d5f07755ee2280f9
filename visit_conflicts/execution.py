"""Running one step with its ledger bookkeeping: shared by the local runner and the AWS adapters.

Whatever engine calls it, a step (or one chunk of the mapped step) gets a 'running' row, then either
'succeeded' with its measured counts or 'failed' with the error, committed independently of the step's
own transactions (D20).
"""

from __future__ import annotations

import threading
import time

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.observability import logger, record_step_metrics
from visit_conflicts.pipeline import STEP_BY_NAME
from visit_conflicts.steps import Resources, StepResult
from visit_conflicts.store import ledger


class Cancelled(RuntimeError):
    """The run was cancelled (Ctrl-C, SIGTERM, Step Functions stop)."""


def check_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("the run was cancelled")


def run_step(
    res: Resources, ctx: RunContext, params: Params, step_name: str, *, chunk: int | None = None
) -> StepResult:
    step = STEP_BY_NAME[step_name]
    chunk_key = ledger.NOT_CHUNKED if chunk is None else chunk
    func = step.function()
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
        with res.pg_conn(autocommit=True) as conn:
            ledger.step_finished(conn, ctx.run_id, step_name, status="failed", error=message, chunk=chunk_key)
        logger.error("step failed", extra={**extra, "error": message})
        raise
    with res.pg_conn(autocommit=True) as conn:
        ledger.step_finished(
            conn, ctx.run_id, step_name, status=result.status, counts=result.counts, chunk=chunk_key
        )
    logger.info("step finished", extra={**extra, "counts": result.counts})
    record_step_metrics(step_name, result.counts, time.perf_counter() - started)
    return result
