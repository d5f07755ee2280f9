"""The conflict history (`conflict_event`, migration 0035) as the report and a dry run read it.

The events themselves are written by the statements that make the changes (`store.detect`,
`store.finalize`, `store.inservice`, `store.status`), in their transactions. Here: a run's events per
step and reason (the report), the same for several runs (the history), and a dry run's summary (counts
and samples of each kind of change), read inside its transaction before the rollback. Statements:
`sql/postgres/events/`.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from visit_conflicts.sql_files import read_sql

# Events of each kind of change a dry run shows.
SAMPLE_SIZE = 10
SAMPLE_KINDS = ("inserted", "updated", "resolved", "cascaded")


def _fetch(conn: psycopg.Connection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(read_sql(f"postgres/events/{name}.sql"), params).fetchall()


def has_history(conn: psycopg.Connection) -> bool:
    row = conn.execute(read_sql("postgres/events/table_exists.sql")).fetchone()
    return bool(row and row[0])


def run_events(conn: psycopg.Connection, run_id: str) -> list[dict[str, Any]]:
    """The run's events per step and reason: [{step, reason, events}]."""
    if not has_history(conn):
        return []
    return [
        {"step": r["step"], "reason": r["reason"], "events": int(r["events"])}
        for r in _fetch(conn, "count_run_events", {"run_id": run_id})
    ]


def history_events(conn: psycopg.Connection, run_ids: list[str]) -> dict[str, dict[str, int]]:
    """Events per reason of each run: {run_id: {reason: events}}."""
    if not run_ids or not has_history(conn):
        return {}
    found: dict[str, dict[str, int]] = {}
    for r in _fetch(conn, "select_history_events", {"run_ids": run_ids}):
        found.setdefault(r["run_id"], {})[r["reason"]] = int(r["events"])
    return found


def would_change(conn: psycopg.Connection, run_id: str, sample: int = SAMPLE_SIZE) -> dict[str, Any]:
    """What a dry run would have changed, from its own events (inside its transaction): the events per
    step and reason, and up to `sample` events of each kind of change."""
    samples: dict[str, list[dict[str, Any]]] = {k: [] for k in SAMPLE_KINDS}
    for r in _fetch(conn, "sample_run_events", {"run_id": run_id, "sample": sample}):
        kind = r.pop("kind")
        samples.setdefault(kind, []).append(r)
    return {"events": run_events(conn, run_id), "samples": samples}


def per_reason(events: list[dict[str, Any]]) -> dict[str, int]:
    """Events per step and reason summed per reason, in reason order."""
    totals: dict[str, int] = {}
    for e in events:
        totals[e["reason"]] = totals.get(e["reason"], 0) + int(e["events"])
    return dict(sorted(totals.items()))
