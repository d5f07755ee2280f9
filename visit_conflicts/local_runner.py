"""The local engine: runs the step list of `pipeline.py` in-process.

The opening step (preflight) first; then the selected work steps in pipeline order, the chunked step on a
thread pool (`workers`); the closing steps (restore, report) always, through `step_runner.close_run`
from a `finally`, also after Ctrl-C or SIGTERM (D19), after recording in the ledger how the work steps
ended. Every step goes through
`step_runner.run_step`, as in AWS. The exit status is success only when every step succeeded.

A dry run (`dry_run`, `visit-conflicts run --dry-run`) runs the same steps with one difference: every
work step's transactional connection is ONE connection (`store.db.SharedTransaction`, lent through
`Resources.shared`), whose single transaction is read for what it would have changed (the conflict
history it wrote: counts per step and reason, samples) and then rolled back, before the closing steps
run. The ledger keeps its own autocommit connections, so the run's row, its steps' counts and its report
persist; preflight and restore leave pg_cron, the sequences and the flag alone, and the mapped step runs
one chunk at a time (`workers` = 1). Only this engine can run it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext, new_run_id
from visit_conflicts.errors import is_refusal
from visit_conflicts.observability import bind, logger
from visit_conflicts.ownership import holding_run_lock, local_owner
from visit_conflicts.pipeline import SHAPE, Step, selected_work_steps
from visit_conflicts.progress import showing as show_progress
from visit_conflicts.progress import task as progress_task
from visit_conflicts.report import render_html, render_text
from visit_conflicts.step_api import Cancelled, Resources, StepResult
from visit_conflicts.step_runner import close_run, run_step
from visit_conflicts.store import ledger
from visit_conflicts.store.db import SharedTransaction, StoreError, connect
from visit_conflicts.store.events import would_change
from visit_conflicts.store.ledger import Outcome
from visit_conflicts.store.plan import chunk_plan


@dataclass
class RunOutcome:
    run_id: str
    status: str
    report: dict[str, Any]
    text: str
    html_path: Path | None
    error: str | None

    @property
    def history_path(self) -> Path | None:
        """The history page written with this run's report files, if any."""
        if self.html_path is None:
            return None
        path = self.html_path.parent / HISTORY_PAGE
        return path if self.report.get("history") and path.exists() else None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def refused(self) -> bool:
        """The opening step refused the run: nothing was opened, written or restored."""
        return not self.report["steps"]


@contextmanager
def _signals_cancel(cancel: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set the cancel flag and interrupt the main thread; cleanup still runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.set()
        raise Cancelled(f"received {signal.Signals(signum).name}")

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _run_mapped(res: Resources, ctx: RunContext, params: Params, step: Step) -> StepResult:
    # The run's chunks: plan's decision in the ledger, or the fixed `chunks` parameter.
    with res.pg_conn() as pg:
        chunks = chunk_plan(pg, ctx.run_id, params).chunks
    bar = progress_task(step.name, total=len(chunks), unit="chunk")
    totals: dict[str, Any] = {}
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=params.workers, thread_name_prefix=f"{step.name}-chunk") as pool:
        futures = {pool.submit(run_step, res, ctx, params, step.name, chunk=c): c for c in chunks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION, timeout=0.5)
            for fut in done:
                exc = fut.exception()
                if exc is not None:
                    failures.append(f"chunk {futures[fut]}: {type(exc).__name__}: {exc}")
                    # Stop handing out chunks; the running ones finish or notice the cancel flag.
                    for other in pending:
                        other.cancel()
                    continue
                for key, value in fut.result().counts.items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        totals[key] = totals.get(key, 0) + value
                bar.advance()
            pending = {f for f in pending if not f.cancelled()}
    bar.close()
    if failures:
        raise RuntimeError(f"{step.name} failed in {len(failures)} chunk(s): " + "; ".join(failures))
    return StepResult(counts=totals)


def run_pipeline(
    res: Resources,
    params: Params,
    *,
    now: datetime | None = None,
    run_date: date | None = None,
    run_id: str | None = None,
    report_dir: Path | None = None,
    progress: bool = False,
) -> RunOutcome:
    """Run the opening step, the selected work steps and the closing step; never raises for a step
    failure."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ctx = RunContext.create(params, now=now, run_id=run_id or new_run_id(now), run_date=run_date)
    bind(run_id=ctx.run_id)
    cancel = res.cancel or threading.Event()
    res.cancel = cancel
    if params.dry_run:
        # One transaction for all the work: the chunks cannot run in parallel on it.
        params = params.model_copy(update={"workers": 1})
    status: Outcome = "failed"
    error: str | None = None
    with contextlib.ExitStack() as owned, _signals_cancel(cancel), show_progress(progress):
        try:
            # This process owns the run while it holds the run's lock (D20 amended: a run whose process
            # died is taken over by the next one). Without the lock no owner is recorded, so the run can
            # only be released by an operator; preflight then reports why PostgreSQL is unreachable.
            owned.enter_context(holding_run_lock(res.pg_dsn, res.schema, ctx.run_id))
            res.owner = local_owner(res.schema, ctx.run_id)
        except StoreError:
            res.owner = None
        try:
            try:
                bind(step=SHAPE.opening.name)
                if params.dry_run:
                    res.shared = _shared_transaction(res)
                opened = run_step(res, ctx, params, SHAPE.opening.name).context
                assert opened is not None, "the opening step hands on the run context"
                ctx = opened
                work = selected_work_steps(params.steps)
                with progress_task("pipeline", total=len(work), unit="step") as bar:
                    for step in work:
                        bind(step=step.name)
                        bar.phase(step.name)
                        if step.map_over_chunks:
                            _run_mapped(res, ctx, params, step)
                        else:
                            run_step(res, ctx, params, step.name)
                        bar.advance()
                status = "succeeded"
            except (Cancelled, KeyboardInterrupt) as exc:
                cancel.set()
                status, error = "cancelled", str(exc) or "cancelled"
            except Exception as exc:
                status = "failed"
                if is_refusal(exc):
                    # Expected: the message says what to fix; the command prints it in one line.
                    error = str(exc)
                    logger.info("run refused", extra={"error": error})
                else:
                    error = f"{type(exc).__name__}: {exc}"
                    logger.exception("run failed")
        finally:
            if res.shared is not None:
                _roll_back_dry_run(res, ctx.run_id)
            bind(step=SHAPE.closing[0].name)
            # A second signal during cleanup must not abort the restore.
            signal_guard = (
                _ignore_signals() if threading.current_thread() is threading.main_thread() else None
            )
            try:
                closing = close_run(res, params, ctx.run_id, outcome=status, error=error, ctx=ctx)
            finally:
                if signal_guard is not None:
                    signal_guard()
    report = closing.report
    assert report is not None, "close_run always hands on the run's report"
    text = render_text(report)
    html_path = _write_report_files(report, text, report_dir) if report_dir is not None else None
    return RunOutcome(
        run_id=ctx.run_id,
        status=report["status"],
        report=report,
        text=text,
        html_path=html_path,
        error=report.get("error"),
    )


def _shared_transaction(res: Resources) -> SharedTransaction:
    conn = connect(res.pg_dsn, res.schema, autocommit=False, connection_class=SharedTransaction)
    assert isinstance(conn, SharedTransaction)
    # Open the transaction now: a `transaction()` block on an idle connection would BEGIN and COMMIT a
    # transaction of its own; inside an open one every block is a savepoint.
    conn.begin()
    return conn


def _roll_back_dry_run(res: Resources, run_id: str) -> None:
    """Read what the dry run would have changed from its own transaction, roll it back, and record the
    summary in the ledger (a run refused before it opened has no row: the update finds none)."""
    shared = res.shared
    assert shared is not None
    res.shared = None
    summary: dict[str, Any]
    try:
        if shared.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            raise RuntimeError("the dry run's transaction was aborted by a failed statement")
        summary = would_change(shared, run_id)
    except (psycopg.Error, RuntimeError) as exc:
        summary = {"events": [], "samples": {}, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        try:
            shared.rollback()
        finally:
            shared.close_shared()
    try:
        with res.pg_conn(autocommit=True) as conn:
            ledger.record_would_change(conn, run_id, summary)
    except (psycopg.Error, StoreError):
        logger.exception("could not record what the dry run would have changed")


HISTORY_PAGE = "history.html"


def _write_report_files(report: dict[str, Any], text: str, report_dir: Path) -> Path:
    """The report as HTML (returned), JSON and text files named after the run; for a run with a history
    (any run that was opened), also the history page `history.html`, replaced by every run: the latest
    run's page, whose history section covers the runs before it."""
    report_dir.mkdir(parents=True, exist_ok=True)
    html_path = report_dir / f"{report['run_id']}.html"
    page = render_html(report)
    html_path.write_text(page)
    (report_dir / f"{report['run_id']}.json").write_text(json.dumps(report, indent=2, default=str))
    (report_dir / f"{report['run_id']}.txt").write_text(text + "\n")
    if report.get("history"):
        (report_dir / HISTORY_PAGE).write_text(page)
    return html_path


def _ignore_signals() -> Any:
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)

    return restore
