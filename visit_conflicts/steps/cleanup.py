"""cleanup + report: always runs, whatever happened before (D19).

Guarantees: when this run holds the lock, pg_cron is restored to exactly the state preflight recorded
(D18), `InProgressFlag` goes to the configured idle value and, on success, `LastLoadDate` to the run end
(D17); the tables the run wrote are VACUUM/ANALYZEd and nothing else (D21); the materialized view is
refreshed concurrently (plain refresh as fallback); the ledger run is closed; the report is produced
as JSON (in the ledger), text (returned/logged) and HTML, and emailed through SES when enabled or
written to a file locally (D22). When the run never got the lock (refused by preflight), nothing is
restored: the active run owns that state. Each part is attempted even if an earlier part fails; the
failures are reported. Safe to rerun: every part is idempotent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from visit_conflicts.config import Params
from visit_conflicts.observability import logger
from visit_conflicts.pipeline import STEP_BY_NAME
from visit_conflicts.report import build_report, email_subject, render_html, render_text
from visit_conflicts.steps import Resources
from visit_conflicts.store import ledger


@dataclass
class CleanupOutcome:
    report: dict[str, Any]
    text: str
    html: str
    html_path: Path | None
    problems: list[str] = field(default_factory=list)


def restore_cron(conn: psycopg.Connection, state: dict[str, Any] | None) -> str:
    """Put the job back exactly as it was before the run (D18)."""
    if not state or state.get("status") == "skipped":
        return "skipped"
    has_ext = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'").fetchone()
    if not has_ext:
        return "skipped"
    conn.execute("SELECT cron.alter_job(%s, active := %s)", (state["jobid"], bool(state["active"])))
    return "re-enabled" if state["active"] else "left inactive"


def tables_written(steps: list[ledger.StepRecord]) -> list[str]:
    names: list[str] = []
    for record in steps:
        step = STEP_BY_NAME.get(record.step)
        if step is None or record.status == "skipped":
            continue
        for table in step.writes:
            if table not in names:
                names.append(table)
    return names


def maintain(conn: psycopg.Connection, tables: list[str]) -> None:
    """D21: VACUUM (ANALYZE) only the tables this run wrote. Needs autocommit."""
    for table in tables:
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if exists and exists[0]:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def refresh_view(conn: psycopg.Connection, view: str) -> str:
    exists = conn.execute("SELECT to_regclass(%s)", (view,)).fetchone()
    if not exists or not exists[0]:
        return "skipped (view missing)"
    try:
        conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(sql.Identifier(view)))
        return "refreshed concurrently"
    except psycopg.Error as exc:
        logger.warning(
            "concurrent refresh failed, falling back to a plain refresh", extra={"error": str(exc)}
        )
        conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.Identifier(view)))
        return "refreshed (plain)"


def purge_scratch(conn: psycopg.Connection, run_id: str) -> int:
    """The run's scope and seen keys are scratch data of this run only; drop them when it ends."""
    deleted = 0
    for table in ("run_scope_group", "run_seen_pair"):
        cur = conn.execute(
            sql.SQL("DELETE FROM {} WHERE run_id = %s").format(sql.Identifier(table)), (run_id,)
        )
        deleted += max(cur.rowcount, 0)
    return deleted


def send_email(params: Params, subject: str, text: str, html_body: str) -> None:
    import boto3

    client = boto3.client("ses", region_name=params.email.region)
    client.send_email(
        Source=params.email.sender,
        Destination={"ToAddresses": list(params.email.recipients)},
        Message={
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": text, "Charset": "UTF-8"},
                "Html": {"Data": html_body, "Charset": "UTF-8"},
            },
        },
    )


def run(
    res: Resources,
    params: Params,
    run_id: str,
    *,
    outcome: str,
    error: str | None = None,
    report_dir: Path | None = None,
) -> CleanupOutcome:
    """Restore, maintain, close and report. `outcome` is how the work steps ended."""
    problems: list[str] = []
    with res.pg_conn(autocommit=True) as conn:
        run_row = ledger.get_run(conn, run_id)
        owns_lock = run_row is not None and run_row["status"] == "running"
        counts: dict[str, Any] = {}
        if owns_lock:
            assert run_row is not None
            ledger.step_started(conn, run_id, "cleanup")
            steps = ledger.get_steps(conn, run_id)
            parts = (
                ("pg_cron", lambda: restore_cron(conn, run_row.get("pg_cron_state"))),
                ("in_progress_flag", lambda: _reset_flags(conn, params, success=outcome == "succeeded")),
                ("maintenance", lambda: _maintain(conn, tables_written(steps))),
                ("materialized_view", lambda: refresh_view(conn, params.materialized_view_name)),
                ("scratch_rows", lambda: purge_scratch(conn, run_id)),
            )
            for name, action in parts:
                try:
                    counts[name] = action()
                except Exception as exc:  # every part is attempted; failures are reported
                    problems.append(f"{name}: {exc}")
                    counts[name] = "failed"
                    logger.exception("cleanup part failed", extra={"part": name})
            ledger.step_finished(
                conn,
                run_id,
                "cleanup",
                status="failed" if problems else "succeeded",
                counts=counts,
                error="; ".join(problems) or None,
            )
            final_status = outcome if not problems or outcome != "succeeded" else "failed"
            final_error = error or ("cleanup: " + "; ".join(problems) if problems else None)
            ledger.finish_run(conn, run_id, status=final_status, error=final_error)
        if run_row is None:
            # Refused before the ledger row existed (lock held by another run, bad source, ...).
            report = refused_report(run_id, params, error)
        else:
            report = build_report(conn, res.schema, run_id)
            if owns_lock:
                ledger.finish_run(conn, run_id, status=report["status"], error=report["error"], report=report)
    text = render_text(report)
    html_body = render_html(report)
    html_path = None
    if params.email.enabled:
        try:
            send_email(params, email_subject(params.email.subject_prefix, report), text, html_body)
        except Exception as exc:
            problems.append(f"email: {exc}")
            logger.exception("sending the report failed")
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        html_path = report_dir / f"{report['run_id']}.html"
        html_path.write_text(html_body)
        (report_dir / f"{report['run_id']}.json").write_text(json.dumps(report, indent=2, default=str))
        (report_dir / f"{report['run_id']}.txt").write_text(text + "\n")
    logger.info("run report", extra={"report": report})
    return CleanupOutcome(report=report, text=text, html=html_body, html_path=html_path, problems=problems)


def refused_report(run_id: str, params: Params, error: str | None) -> dict[str, Any]:
    """The report of a run that never started (nothing was written, nothing restored)."""
    now = datetime.now(UTC).isoformat()
    return {
        "run_id": run_id,
        "environment": params.environment,
        "status": "failed",
        "full_run": params.steps is None,
        "started_at": now,
        "ended_at": now,
        "seconds": 0.0,
        "run_date": datetime.now(params.zone).date().isoformat(),
        "window": ["-", "-"],
        "cutoff": None,
        "watermark": None,
        "pg_cron": None,
        "error": error or "the run was not started",
        "steps": [],
        "tables": {},
    }


def _reset_flags(conn: psycopg.Connection, params: Params, *, success: bool) -> str:
    if success:
        # Timestamps in the conflict schema are business-zone wall clock without a zone.
        run_end = datetime.now(params.zone).replace(tzinfo=None)
        conn.execute(
            'UPDATE settings SET "InProgressFlag" = %s, "LastLoadDate" = %s',
            (params.idle_in_progress_flag, run_end),
        )
    else:
        conn.execute('UPDATE settings SET "InProgressFlag" = %s', (params.idle_in_progress_flag,))
    return f"set to {params.idle_in_progress_flag}"


def _maintain(conn: psycopg.Connection, tables: list[str]) -> str:
    maintain(conn, tables)
    return ",".join(tables) if tables else "none"
