"""Run history: what the last N runs of the ledger did, as one model of facts that the report renders
three ways (text, HTML with inline SVG charts, JSON; `visit_conflicts.report`).

From `pipeline_run` and `pipeline_run_step` only (statements in `sql/postgres/history/`):

- the timeline of the reported run: every step and chunk row with its start offset and duration (a
  Gantt);
- per run (oldest first): wall-clock duration, per-step duration (a mapped step: first chunk start to
  last chunk end), pairs inserted / updated / resolved (the steps' measured counts of those names, D13),
  skipped rows per reason (`skipped_<reason>` counts, D23), the run it took over (D20 amended), every
  step that needed more than one attempt, whether it was a dry run (`kind`), and its conflict history
  events per reason (`conflict_event`; a dry run's from what it recorded before its rollback).

Step names are never listed here: they come from the ledger rows, ordered as `pipeline.STEP_NAMES`
(names the step list no longer has, from older runs, follow in the order they ran). Every value is
display-ready (times ISO to the second, seconds rounded to 2 decimals), so that each fact of the JSON is
found verbatim in the text and the HTML (`facts`, and a test).

Extending it: a new per-run series (events per reason from a history table, a dry-run mark) is one more
key of each run's dict plus its line in `report.render_history_text` and `templates/history.html.j2`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from visit_conflicts.pipeline import STEP_NAMES
from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.events import history_events, per_reason

HISTORY_RUNS = 30
# Measured counts (D13) shown per run, by their count names: every step that inserts, updates or
# resolves pairs reports them under these names.
PAIR_COUNTS = ("inserted", "updated", "resolved")
SKIPPED_PREFIX = "skipped_"
NOT_CHUNKED = -1


def _sql(name: str) -> str:
    return read_sql(f"postgres/history/{name}.sql")


def stamp(value: datetime | None) -> str | None:
    """A time as the history shows it: UTC, ISO, to the second."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _round(value: float) -> float:
    return round(value, 2)


def label(step: str, chunk: int) -> str:
    return step if chunk == NOT_CHUNKED else f"{step}[{chunk}]"


def build_history(conn: psycopg.Connection, run_id: str, runs: int = HISTORY_RUNS) -> dict[str, Any]:
    """The history of the `runs` runs opened up to `run_id` (included)."""
    with conn.cursor(row_factory=dict_row) as cur:
        run_rows = cur.execute(_sql("select_runs"), {"run_id": run_id, "runs": runs}).fetchall()
        step_rows = cur.execute(_sql("select_steps"), {"run_ids": [r["run_id"] for r in run_rows]}).fetchall()
    events = history_events(conn, [r["run_id"] for r in run_rows])
    if not conn.autocommit:
        conn.commit()
    run_rows.reverse()  # oldest first: charts and tables read left to right, top to bottom
    steps_of: dict[str, list[dict[str, Any]]] = {r["run_id"]: [] for r in run_rows}
    for row in step_rows:
        steps_of[row["run_id"]].append(row)
    step_names = _ordered_step_names(step_rows)
    return {
        "runs_requested": runs,
        "steps": step_names,
        "pair_counts": list(PAIR_COUNTS),
        "runs": [_run_summary(r, steps_of[r["run_id"]], events.get(r["run_id"], {})) for r in run_rows],
        "timeline": _timeline(run_id, steps_of.get(run_id, [])),
    }


def _ordered_step_names(step_rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, datetime] = {}
    for row in sorted(step_rows, key=lambda r: r["started_at"]):
        seen.setdefault(row["step"], row["started_at"])
    known = [s for s in STEP_NAMES if s in seen]
    return known + [s for s in seen if s not in STEP_NAMES]


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return _round((end - start).total_seconds())


def _run_summary(run: dict[str, Any], steps: list[dict[str, Any]], events: dict[str, int]) -> dict[str, Any]:
    starts = [s["started_at"] for s in steps]
    ends = [s["ended_at"] for s in steps if s["ended_at"] is not None]
    first = min(starts, default=run["started_at"])
    step_seconds: dict[str, float] = {}
    for name in dict.fromkeys(s["step"] for s in steps):
        rows = [s for s in steps if s["step"] == name]
        if all(r["ended_at"] is not None for r in rows):
            secs = _seconds(min(r["started_at"] for r in rows), max(r["ended_at"] for r in rows))
            if secs is not None:
                step_seconds[name] = secs
    pairs = dict.fromkeys(PAIR_COUNTS, 0)
    skipped: dict[str, int] = {}
    for s in steps:
        for key, value in (s["counts"] or {}).items():
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            if key in pairs:
                pairs[key] += value
            elif key.startswith(SKIPPED_PREFIX) and value:
                reason = key[len(SKIPPED_PREFIX) :]
                skipped[reason] = skipped.get(reason, 0) + value
    took_over = run.get("took_over")
    if took_over:
        took_over = {
            "run_id": str(took_over.get("run_id")),
            "reason": str(took_over.get("reason")),
            "seconds": _round(float(took_over.get("seconds") or 0.0)),
        }
    if run.get("dry_run"):
        events = per_reason(run.get("dry_run_events") or [])
    return {
        "run_id": run["run_id"],
        "status": run["status"],
        "kind": "dry run" if run.get("dry_run") else "run",
        "events": [{"reason": k, "events": v} for k, v in sorted(events.items())],
        "started_at": stamp(first),
        "seconds": _seconds(first, max(ends)) if ends else None,
        "step_seconds": step_seconds,
        "pairs": pairs,
        "skipped": [{"reason": k, "rows": v} for k, v in sorted(skipped.items())],
        "took_over": took_over or None,
        "retries": [
            {"label": label(s["step"], s["chunk"]), "attempt": s["attempt"]}
            for s in steps
            if s["attempt"] > 1
        ],
    }


def _timeline(run_id: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    origin = min((s["started_at"] for s in steps), default=None)
    spans = []
    for s in sorted(steps, key=lambda r: (r["started_at"], r["step"], r["chunk"])):
        assert origin is not None
        spans.append(
            {
                "label": label(s["step"], s["chunk"]),
                "step": s["step"],
                "status": s["status"],
                "attempt": s["attempt"],
                "start": _round((s["started_at"] - origin).total_seconds()),
                "seconds": _seconds(s["started_at"], s["ended_at"]),
            }
        )
    ends = [s["ended_at"] for s in steps if s["ended_at"] is not None]
    return {
        "run_id": run_id,
        "started_at": stamp(origin),
        "seconds": _seconds(origin, max(ends)) if origin and ends else None,
        "spans": spans,
    }


def facts(value: Any) -> Iterator[str]:
    """Every fact of a history (or any part of it) as the text a rendering shows it: strings as they
    are, integers in decimal, other numbers with 2 decimals. Dict keys are names, not facts (the step
    names of `step_seconds` are facts of `steps`, the pair count names of `pair_counts`); booleans and
    None are not shown as such."""
    if isinstance(value, dict):
        for item in value.values():
            yield from facts(item)
    elif isinstance(value, list):
        for item in value:
            yield from facts(item)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, float):
        yield fmt_seconds(value)
    else:
        yield str(value)


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
