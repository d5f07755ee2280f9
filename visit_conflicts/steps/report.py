"""report: the last closing step, always run (D19, D22).

Builds the run's report from the ledger (status per step, durations, measured counts, row-count changes
from planner estimates, errors), stores it in the ledger as JSON once the run is closed, writes it to
the log, and emails it through SES when email is enabled. The result carries the report. For a failed
run the notes say which steps to start a new execution with (a closed run is never resumed). A run that
was never opened has no ledger report: `step_runner.close_run` builds one from the refusal. Safe to
rerun: the report is rebuilt from the same ledger rows and stored again.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.mail import send_report_email
from visit_conflicts.observability import logger
from visit_conflicts.pipeline import SHAPE, STEP_BY_NAME
from visit_conflicts.report import build_report
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.store import ledger


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    with res.pg_conn(autocommit=True) as conn:
        try:
            run_row = ledger.get_run(conn, ctx.run_id)
        except psycopg.errors.UndefinedTable:
            run_row = None
        if run_row is None:
            return StepResult(status="skipped", notes=["the run was never opened: no ledger report"])
        report = build_report(conn, res.schema, ctx.run_id)
        if run_row["status"] != "running":
            ledger.store_report(conn, ctx.run_id, report)
    problems: list[str] = []
    if params.email.enabled:
        try:
            send_report_email(params.email, report)
        except Exception as exc:
            problems.append(f"email: {exc}")
            logger.exception("sending the report failed")
    logger.info("run report", extra={"report": report})
    notes = [*problems]
    hint = rerun_hint(report, list(run_row.get("steps") or []))
    if hint:
        notes.append(hint)
    return StepResult(status="failed" if problems else "succeeded", notes=notes, report=report)


def rerun_hint(report: dict[str, Any], selected: list[str]) -> str | None:
    """For a run that did not succeed: the execution input that repeats the work steps it did not
    finish, from the first one (a closed run is never resumed, so redrive is no way to finish it)."""
    if report.get("status") == "succeeded":
        return None
    records = report.get("steps", [])
    finished = {
        r["step"]
        for r in records
        if r.get("status") == "succeeded"
        and not any(o["step"] == r["step"] and o.get("status") != "succeeded" for o in records)
    }
    work = [s.name for s in SHAPE.work if s.name in selected]
    unfinished = [name for name in work if name not in finished]
    if not unfinished:
        return None
    todo = set(work[work.index(unfinished[0]) :])
    for name in list(todo):
        todo.update(STEP_BY_NAME[name].needs)
    overrides = {"steps": [s.name for s in SHAPE.work if s.name in todo]}
    return "to finish the work, start a new execution with " + json.dumps({"params": overrides})
