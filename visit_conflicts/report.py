"""The run report (D22): one record built from the ledger, rendered as JSON, text (log) and HTML (email).

All three renderings come from the same `build_report` dict, so they cannot disagree. Counts are the
measured ones each step recorded (D13); row-count changes use planner estimates (D21).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import psycopg

from visit_conflicts.context import RunContext
from visit_conflicts.pipeline import REPORTED_TABLES
from visit_conflicts.store import ledger


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def build_report(conn: psycopg.Connection, schema: str, run_id: str | None = None) -> dict[str, Any]:
    run = ledger.get_run(conn, run_id)
    if run is None:
        raise LookupError(f"no run {run_id!r} in the ledger" if run_id else "the ledger has no run yet")
    steps = ledger.get_steps(conn, run["run_id"])
    before = run.get("table_rows_before") or {}
    after = ledger.table_row_estimates(conn, schema, list(REPORTED_TABLES))
    step_rows = []
    for s in steps:
        step_rows.append(
            {
                "step": s.step,
                "chunk": None if s.chunk == ledger.NOT_CHUNKED else s.chunk,
                "status": s.status,
                "attempt": s.attempt,
                "started_at": _iso(s.started_at),
                "seconds": _seconds(s.started_at, s.ended_at),
                "counts": s.counts,
                "error": s.error,
            }
        )
    ended = run.get("ended_at")
    # Wall-clock duration from the steps' own clock readings: the run's started_at is its "now", which
    # a reproducible run (--now) fixes to a value that is not the time it actually ran.
    first_start = min((s.started_at for s in steps), default=None)
    last_end = max((s.ended_at for s in steps if s.ended_at), default=None)
    return {
        "run_id": run["run_id"],
        "environment": run["environment"],
        "status": run["status"],
        "full_run": run["full_run"],
        "started_at": _iso(run["started_at"]),
        "ended_at": _iso(ended),
        "seconds": _seconds(first_start, last_end),
        "run_date": run["run_date"].isoformat(),
        "window": [run["window_start"].isoformat(), run["window_end"].isoformat()],
        "cutoff": _iso(run["cutoff"]),
        "watermark": _iso(run["watermark"]),
        "pg_cron": run.get("pg_cron_state"),
        "error": run.get("error"),
        # D20 amended: the dead run this run took over before it started ({run_id, reason, seconds}).
        "took_over": run.get("took_over"),
        "steps": step_rows,
        "tables": {
            t: {"before": before.get(t), "after": after.get(t), "change": _diff(before.get(t), after.get(t))}
            for t in REPORTED_TABLES
        },
    }


def refused_report(ctx: RunContext, environment: str, full_run: bool, error: str | None) -> dict[str, Any]:
    """The report of a run that was never opened (refused by preflight: nothing written, nothing
    restored), in the shape of `build_report`."""
    now = datetime.now(UTC).isoformat()
    return {
        "run_id": ctx.run_id,
        "environment": environment,
        "status": "failed",
        "full_run": full_run,
        "started_at": now,
        "ended_at": now,
        "seconds": 0.0,
        "run_date": ctx.run_date.isoformat(),
        "window": ["-", "-"],
        "cutoff": None,
        "watermark": None,
        "pg_cron": None,
        "error": error or "the run was not started",
        "took_over": None,
        "steps": [],
        "tables": {},
    }


def _diff(before: int | None, after: int | None) -> int | None:
    return None if before is None or after is None else after - before


# The counts an operator reads first; the rest follow alphabetically (the ledger's jsonb loses order).
_LEADING_COUNTS = ("pairs_read", "inserted", "updated", "unchanged", "reopened", "resolved", "new_conflicts")


def _fmt_counts(counts: dict[str, Any]) -> str:
    """Counts for text and HTML; zero `skipped_*` counters are left out there (the JSON keeps them)."""
    shown = {k: v for k, v in counts.items() if not (k.startswith("skipped_") and v == 0)}
    ordered = [k for k in _LEADING_COUNTS if k in shown] + sorted(
        k for k in shown if k not in _LEADING_COUNTS
    )
    return ", ".join(f"{k}={shown[k]}" for k in ordered) if shown else "-"


def render_text(report: dict[str, Any]) -> str:
    lines = [
        f"Run {report['run_id']} ({report['environment']}): {report['status'].upper()}",
        f"  started {report['started_at']}  ended {report['ended_at']}  ({report['seconds']} s)",
        f"  run date {report['run_date']}  window {report['window'][0]}..{report['window'][1]}  "
        f"cutoff {report['cutoff']}",
    ]
    if report.get("pg_cron"):
        lines.append(f"  pg_cron: {report['pg_cron'].get('status')} ({report['pg_cron'].get('job_name')})")
    if report.get("took_over"):
        t = report["took_over"]
        lines.append(f"  took over run {t['run_id']} ({t['reason']}; its cleanup took {t['seconds']} s)")
    if report.get("error"):
        lines.append(f"  ERROR: {report['error']}")
    lines.append("  steps:")
    for s in report["steps"]:
        name = s["step"] if s["chunk"] is None else f"{s['step']}[{s['chunk']}]"
        secs = f"{s['seconds']:.2f}s" if s["seconds"] is not None else "-"
        lines.append(f"    {name:<14} {s['status']:<10} {secs:>9}  {_fmt_counts(s['counts'])}")
        if s["error"]:
            lines.append(f"    {'':<14} error: {s['error']}")
    lines.append("  tables (estimated rows):")
    for table, t in report["tables"].items():
        change = t["change"]
        change_txt = "" if change is None else f"  ({change:+d})"
        lines.append(f"    {table:<26} {t['after'] if t['after'] is not None else '-'}{change_txt}")
    return "\n".join(lines)


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    colour = {"succeeded": "#1a7f37", "failed": "#cf222e", "cancelled": "#9a6700"}.get(
        report["status"], "#555"
    )
    rows = []
    for s in report["steps"]:
        name = s["step"] if s["chunk"] is None else f"{s['step']}[{s['chunk']}]"
        seconds = "" if s["seconds"] is None else f"{s['seconds']:.2f}"
        rows.append(
            "<tr>"
            f"<td>{e(name)}</td><td>{e(s['status'])}</td>"
            f"<td style='text-align:right'>{seconds}</td>"
            f"<td>{e(_fmt_counts(s['counts']))}</td><td>{e(s['error'] or '')}</td>"
            "</tr>"
        )
    table_rows = []
    for name, t in report["tables"].items():
        after = "" if t["after"] is None else str(t["after"])
        change = "" if t["change"] is None else f"{t['change']:+d}"
        table_rows.append(
            f"<tr><td>{e(name)}</td><td style='text-align:right'>{after}</td>"
            f"<td style='text-align:right'>{change}</td></tr>"
        )
    tables = "".join(table_rows)
    error = f"<p style='color:#cf222e'><b>Error:</b> {e(report['error'])}</p>" if report.get("error") else ""
    if report.get("took_over"):
        t = report["took_over"]
        error = (
            f"<p><b>Took over</b> run {e(t['run_id'])} ({e(t['reason'])}; its cleanup took "
            f"{e(str(t['seconds']))} s).</p>" + error
        )
    cron = report.get("pg_cron") or {}
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Run {e(report['run_id'])}</title></head><body style='font-family:sans-serif'>"
        f"<h2>Run {e(report['run_id'])} ({e(report['environment'])}): "
        f"<span style='color:{colour}'>{e(report['status'].upper())}</span></h2>"
        f"<p>Started {e(str(report['started_at']))}, ended {e(str(report['ended_at']))} "
        f"({e(str(report['seconds']))} s). Run date {e(report['run_date'])}, window "
        f"{e(report['window'][0])}..{e(report['window'][1])}, cutoff {e(str(report['cutoff']))}. "
        f"pg_cron: {e(str(cron.get('status', '-')))}.</p>{error}"
        "<table border='1' cellpadding='4' cellspacing='0'>"
        "<tr><th>step</th><th>status</th><th>seconds</th><th>counts</th><th>error</th></tr>"
        f"{''.join(rows)}</table>"
        "<h3>Tables (estimated rows)</h3><table border='1' cellpadding='4' cellspacing='0'>"
        f"<tr><th>table</th><th>rows</th><th>change</th></tr>{tables}</table></body></html>"
    )


def email_subject(prefix: str, report: dict[str, Any]) -> str:
    """Legacy subject shape: "<prefix> - <STATUS> - <environment>"."""
    return f"{prefix} - {report['status'].upper()} - {report['environment']}"
