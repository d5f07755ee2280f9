"""The run report (D22): one record built from the ledger, rendered as JSON, text (log) and HTML (email).

All three renderings come from the same `build_report` dict, so they cannot disagree. Counts are the
measured ones each step recorded (D13); row-count changes use planner estimates (D21). The record also
carries the run history (`visit_conflicts.history`: a timeline of the run's steps and chunks, and the
last runs' durations, pairs, skipped rows, takeovers and retries), which the HTML shows with inline SVG
charts (`visit_conflicts.svg`) from a Jinja2 template (`templates/report.html.j2`), so the page is one
self-contained file for email and offline reading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import psycopg
from markupsafe import Markup

from visit_conflicts import svg
from visit_conflicts.context import RunContext
from visit_conflicts.history import HISTORY_RUNS, build_history, fmt_seconds
from visit_conflicts.pipeline import REPORTED_TABLES
from visit_conflicts.store import ledger
from visit_conflicts.store.events import per_reason, run_events

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def build_report(
    conn: psycopg.Connection, schema: str, run_id: str | None = None, *, history: int = HISTORY_RUNS
) -> dict[str, Any]:
    """The report of `run_id` (the latest run when None), with the history of the last `history` runs
    up to it (none when 0)."""
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
    dry_run = bool(run.get("dry_run"))
    # A dry run's events were rolled back: it recorded them (and samples) before (`would_change`).
    would_change = run.get("would_change") if dry_run else None
    events = (would_change or {}).get("events", []) if dry_run else run_events(conn, run["run_id"])
    return {
        "run_id": run["run_id"],
        "environment": run["environment"],
        "status": run["status"],
        "dry_run": dry_run,
        # Conflict history events of the run per reason (issue 14).
        "events": per_reason(events),
        "would_change": would_change,
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
        "history": build_history(conn, run["run_id"], history) if history > 0 else None,
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
        "dry_run": False,
        "events": {},
        "would_change": None,
        "steps": [],
        "tables": {},
        "history": None,
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
    if report.get("dry_run"):
        lines.append("  DRY RUN: everything was computed and rolled back; nothing was written")
    events = report.get("events") or {}
    label = "would-be events per reason" if report.get("dry_run") else "events per reason"
    lines.append(f"  {label}: " + (", ".join(f"{k}={v}" for k, v in events.items()) or "none"))
    would = report.get("would_change")
    if would:
        lines.extend(render_would_change_text(would))
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
    if report.get("history"):
        lines.extend(render_history_text(report["history"]))
    return "\n".join(lines)


_GANTT_WIDTH = 40  # characters of the text timeline's bars


def sample_line(e: dict[str, Any]) -> str:
    """One sampled event of a dry run, as text and HTML show it."""
    key = f"pair {e['VisitID']} -> {e['ConVisitID']}" if e.get("VisitID") else "conflict"
    detail = f" [{e['detail']}]" if e.get("detail") else ""
    change = f"{e.get('old_status') or '-'} -> {e.get('new_status') or '-'}"
    return f"{e['step']}: {key} (conflict {e['CONFLICTID']}) {change} {e['reason']}{detail}"


def render_would_change_text(would: dict[str, Any]) -> list[str]:
    """A dry run's counts per step and reason, and its samples."""
    lines = ["  would change (per step and reason):"]
    lines.extend(f"    {e['step']:<14} {e['reason']:<34} {e['events']:>8}" for e in would.get("events", []))
    if would.get("error"):
        lines.append(f"    not read: {would['error']}")
    for kind, sample in (would.get("samples") or {}).items():
        lines.append(f"  sample of {kind} ({len(sample)}):")
        lines.extend(f"    {sample_line(e)}" for e in sample)
    return lines


def render_history_text(history: dict[str, Any]) -> list[str]:
    """The history as text lines: the same facts as the HTML's tables (charts become character bars)."""
    runs = history["runs"]
    lines = [f"  history: the last {len(runs)} run(s) (of {history['runs_requested']} asked), oldest first"]
    timeline = history["timeline"]
    total = timeline["seconds"] or max(
        (s["start"] + (s["seconds"] or 0.0) for s in timeline["spans"]), default=0.0
    )
    lines.append(
        f"  timeline of run {timeline['run_id']}: started {timeline['started_at'] or '-'}, "
        f"{fmt_seconds(timeline['seconds'])} s (# ran, ~ still running)"
    )
    lines.append(f"    {'step':<14} {'status':<10} {'try':>3} {'start':>8} {'seconds':>8}  timeline")
    for s in timeline["spans"]:
        lines.append(
            f"    {s['label']:<14} {s['status']:<10} {s['attempt']:>3} {fmt_seconds(s['start']):>8} "
            f"{fmt_seconds(s['seconds']):>8}  |{_text_bar(s['start'], s['seconds'], total)}|"
        )
    steps = history["steps"]
    width = max([8, *(len(n) + 1 for n in steps)])
    run_width = max([4, *(len(r["run_id"]) for r in runs)])
    lines.append("  duration per step (seconds):")
    lines.append(
        f"    {'run':<{run_width}} {'started':<20} {'status':<10} {'total':>8}"
        + "".join(f"{n:>{width}}" for n in steps)
    )
    for r in runs:
        lines.append(
            f"    {r['run_id']:<{run_width}} {r['started_at'] or '-':<20} {r['status']:<10} "
            f"{fmt_seconds(r['seconds']):>8}"
            + "".join(f"{fmt_seconds(r['step_seconds'].get(n)):>{width}}" for n in steps)
        )
    names = history["pair_counts"]
    lines.append("  pairs per run:")
    lines.append(f"    {'run':<{run_width}}" + "".join(f"{n:>10}" for n in names))
    for r in runs:
        lines.append(f"    {r['run_id']:<{run_width}}" + "".join(f"{r['pairs'][n]:>10}" for n in names))
    lines.append("  conflict history events per reason:")
    for r in runs:
        shown = ", ".join(f"{e['reason']}={e['events']}" for e in r["events"]) or "none"
        lines.append(f"    {r['run_id']:<{run_width}} {r['kind']:<8} {shown}")
    skipped = [(r["run_id"], s) for r in runs for s in r["skipped"]]
    lines.append("  skipped rows by reason:" + ("" if skipped else " none"))
    for rid, s in skipped:
        lines.append(f"    {rid:<{run_width}} {s['reason']:<28} {s['rows']:>8}")
    events = []
    for r in runs:
        if r["took_over"]:
            t = r["took_over"]
            events.append(
                f"    run {r['run_id']} took over run {t['run_id']} ({t['reason']}; its cleanup took "
                f"{fmt_seconds(t['seconds'])} s)"
            )
        events.extend(
            f"    run {r['run_id']}: {t['label']} needed {t['attempt']} attempts" for t in r["retries"]
        )
    lines.append("  takeovers and retries:" + ("" if events else " none"))
    lines.extend(events)
    return lines


def _text_bar(start: float, seconds: float | None, total: float) -> str:
    if total <= 0:
        return " " * _GANTT_WIDTH
    begin = min(_GANTT_WIDTH - 1, int(start / total * _GANTT_WIDTH))
    if seconds is None:
        return " " * begin + "~" * (_GANTT_WIDTH - begin)
    length = max(1, round(seconds / total * _GANTT_WIDTH))
    length = min(length, _GANTT_WIDTH - begin)
    return " " * begin + "#" * length + " " * (_GANTT_WIDTH - begin - length)


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        fmt=fmt_seconds,
        counts=_fmt_counts,
        step_label=lambda s: s["step"] if s["chunk"] is None else f"{s['step']}[{s['chunk']}]",
        status_colour=lambda status: _STATUS_COLOURS.get(status, "#555"),
        sample_line=sample_line,
        table_attrs=Markup("border='1' cellpadding='4' cellspacing='0'"),
    )
    return env


_STATUS_COLOURS = {"succeeded": "#1a7f37", "failed": "#cf222e", "cancelled": "#9a6700"}


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (the email body, the local report file)."""
    history = report.get("history")
    charts = _charts(history) if history else {}
    return _templates().get_template("report.html.j2").render(report=report, history=history, charts=charts)


def _charts(history: dict[str, Any]) -> dict[str, Markup]:
    """The history's charts as inline SVG (marked safe: svg.py escapes every text it writes)."""
    steps = history["steps"]
    colour_of = {name: i for i, name in enumerate(steps)}
    timeline = [
        svg.Span(
            label=s["label"],
            start=s["start"],
            seconds=s["seconds"],
            colour_index=colour_of.get(s["step"], 0),
            failed=s["status"] == "failed",
            tooltip=f"{s['label']}: {s['status']}, attempt {s['attempt']}, "
            f"start {fmt_seconds(s['start'])} s, {fmt_seconds(s['seconds'])} s",
        )
        for s in history["timeline"]["spans"]
    ]
    runs = history["runs"]
    categories = [(r["started_at"] or "")[5:16].replace("T", " ") for r in runs]
    tips = [f"{r['run_id']} ({r['status']})" for r in runs]
    durations = [(n, [r["step_seconds"].get(n, 0.0) for r in runs], colour_of[n]) for n in steps]
    pairs = [(n, [float(r["pairs"][n]) for r in runs], i) for i, n in enumerate(history["pair_counts"])]
    reasons = sorted({s["reason"] for r in runs for s in r["skipped"]})
    skipped = [
        (reason, [float(sum(s["rows"] for s in r["skipped"] if s["reason"] == reason)) for r in runs], i)
        for i, reason in enumerate(reasons)
    ]
    drawn = {
        "timeline": svg.gantt(timeline),
        "durations": svg.bars(categories, durations, stacked=True, unit="seconds", tooltips=tips),
        "pairs": svg.bars(categories, pairs, stacked=False, unit="pairs", tooltips=tips),
        "skipped": svg.bars(categories, skipped, stacked=True, unit="rows", tooltips=tips),
    }
    return {name: Markup(text) for name, text in drawn.items()}


def email_subject(prefix: str, report: dict[str, Any]) -> str:
    """Legacy subject shape: "<prefix> - <STATUS> - <environment>"."""
    return f"{prefix} - {report['status'].upper()} - {report['environment']}"
