"""PostgreSQL side of `visit-conflicts explain`: the stored pairs of some visits, their parent
conflicts, and their recorded history (`sql/postgres/explain/`). Read only.

The history comes from the conflict history table `conflict_event` (migration 0035: run_id, step,
"VisitID", "ConVisitID", "CONFLICTID", old_status, new_status, reason, detail, at), written by every step
that changes a pair's or a conflict's status; a schema without it has no history to show.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from visit_conflicts.sql_files import read_sql


def _sql(name: str) -> str:
    return read_sql(f"postgres/explain/{name}.sql")


def _fetch(conn: psycopg.Connection, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_sql(statement), params).fetchall()
    if not conn.autocommit:
        conn.commit()
    return rows


def read_pairs(conn: psycopg.Connection, visit_ids: list[str]) -> list[dict[str, Any]]:
    """conflictvisitmaps rows with one of `visit_ids` on either side (regular and InService)."""
    return _fetch(conn, "select_pairs", {"visit_ids": visit_ids})


def read_conflicts(conn: psycopg.Connection, conflict_ids: list[int]) -> dict[int, dict[str, Any]]:
    """conflicts rows by CONFLICTID, with their number of pairs and of open pairs."""
    rows = _fetch(conn, "select_conflicts", {"conflict_ids": conflict_ids})
    return {int(r["CONFLICTID"]): r for r in rows}


def read_history(
    conn: psycopg.Connection, pair_ids: list[int], conflict_ids: list[int]
) -> list[dict[str, Any]] | None:
    """The recorded events of these stored pairs (their "ID") and conflicts, oldest first; None when the
    schema records no history (no conflict_event table). A pair that was never stored has no events."""
    exists = _fetch(conn, "history_table_exists", {})
    if not exists or not next(iter(exists[0].values())):
        return None
    return _fetch(conn, "select_history", {"pair_ids": pair_ids, "conflict_ids": conflict_ids})
