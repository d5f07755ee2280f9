"""restore: the first closing step, always run, after success, failure, timeout or cancellation (D19).

Guarantees, when this run holds the lock (its ledger row is 'running'): pg_cron is restored to exactly
the state preflight recorded (D18); `InProgressFlag` goes to the configured idle value and, on success,
`LastLoadDate` to the run end (D17); then the run is closed in the ledger with the outcome the engine
recorded (`ledger.record_outcome`), which frees the lock; then the run's scratch rows are purged. Only
short statements, under a lock timeout and a statement timeout (`store.restore.limit_waits`): restore
never waits on a long operation, so the lock and pg_cron come back within seconds however big the
tables are; the long work (VACUUM, the view refresh) is the maintenance step's. Each part is attempted
even if an earlier part fails; the failures are reported and make the run 'failed'. A dry run
(`dry_run`) restores neither pg_cron nor the flag: preflight did not touch the job and the run's writes
were rolled back.

When the run never got the lock (refused by preflight: no ledger row, or the run is already closed),
nothing is restored: the state belongs to whoever holds the lock now. Safe to rerun: a closed run is
left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.observability import logger
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.store import ledger
from visit_conflicts.store.pg_cron import restore_cron_job
from visit_conflicts.store.restore import limit_waits, purge_scratch, reset_in_progress_flag

RESTORE = "restore"
NO_OUTCOME = "the run ended without recording how its steps ended (the engine stopped)"


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    with res.pg_conn(autocommit=True) as conn:
        limit_waits(conn)
        try:
            run_row = ledger.get_run(conn, ctx.run_id)
        except psycopg.errors.UndefinedTable:
            run_row = None  # a schema without the ledger: the run was refused before it opened
        if run_row is None:
            return StepResult(status="skipped", notes=["the run was never opened: nothing to restore"])
        if run_row["status"] != "running":
            return StepResult(
                status="skipped",
                notes=[f"the run is already closed ({run_row['status']}): nothing to restore"],
            )
        counts, problems = _restore_and_close(conn, params, run_row)
    return StepResult(counts=counts, status="failed" if problems else "succeeded", notes=problems)


def _restore_and_close(
    conn: psycopg.Connection, params: Params, run_row: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    run_id = run_row["run_id"]
    outcome = run_row.get("outcome") or "failed"
    error = run_row.get("error") or (None if run_row.get("outcome") else NO_OUTCOME)
    ledger.step_started(conn, run_id, RESTORE)
    counts: dict[str, Any] = {}
    problems: list[str] = []

    def attempt(name: str, action: Callable[[], Any]) -> None:
        try:
            counts[name] = action()
        except Exception as exc:  # every part is attempted; failures are reported
            problems.append(f"{name}: {exc}")
            counts[name] = "failed"
            logger.exception("restore part failed", extra={"part": name})

    if params.dry_run:
        # Preflight left pg_cron alone and the dry run's InProgressFlag was rolled back: nothing to put
        # back, and LastLoadDate must not move.
        counts.update({"pg_cron": "skipped (dry run)", "in_progress_flag": "untouched (dry run)"})
    else:
        attempt("pg_cron", lambda: restore_cron_job(conn, run_row.get("pg_cron_state")))
        attempt("in_progress_flag", lambda: _reset_flag(conn, params, success=outcome == "succeeded"))
    final_status = outcome if not problems or outcome != "succeeded" else "failed"
    final_error = error or ("restore: " + "; ".join(problems) if problems else None)
    ledger.finish_run(conn, run_id, status=final_status, error=final_error)
    # After the lock is free: the purge of a big scope may take a while and holds nothing anyone needs.
    attempt("scratch_rows", lambda: purge_scratch(conn, run_id))
    ledger.step_finished(
        conn,
        run_id,
        RESTORE,
        status="failed" if problems else "succeeded",
        counts=counts,
        error="; ".join(problems) or None,
    )
    return counts, problems


def _reset_flag(conn: psycopg.Connection, params: Params, *, success: bool) -> str:
    # LastLoadDate is the run's end (D17), as business-zone wall clock like every schema timestamp.
    run_end = datetime.now(params.zone).replace(tzinfo=None) if success else None
    reset_in_progress_flag(conn, idle=params.idle_in_progress_flag, last_load=run_end)
    return f"set to {params.idle_in_progress_flag}"
