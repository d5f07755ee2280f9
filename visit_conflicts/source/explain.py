"""Snowflake side of `visit-conflicts explain`: the visits an explanation is about, with the attributes
detection computes for them (`sql/snowflake/explain/select_visits.sql`, built from detection's shared
blocks) and whether the source deleted them (`select_deleted_visits.sql`).

Explain is not a step: it reads, never writes, and runs on demand (the command line, the explain
Lambda). It uses the session tables of the exclusion lists like detection does (`source.common`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from visit_conflicts.source.common import SourceScope, check_paramstyle, load_exclusions, run_params
from visit_conflicts.sql_files import read_sql

if TYPE_CHECKING:
    from visit_conflicts.store.reference import ReferenceData

_EXPLAIN_SQL = "snowflake/explain/{}.sql"


def _rows(cur: Any) -> list[dict[str, Any]]:
    # Snowflake upper-cases unquoted aliases, the emulation keeps them: one spelling for the caller.
    names = [d[0].lower() for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def read_visits(
    sf_conn: Any, scope: SourceScope, ref: ReferenceData, visit_ids: list[str], *, with_group: bool
) -> list[dict[str, Any]]:
    """One row per visit id: the requested visits (`requested` true) and, `with_group`, every other
    visit of their groups (same SSN, same visit date)."""
    check_paramstyle(sf_conn)
    cur = sf_conn.cursor()
    try:
        load_exclusions(cur, ref)
        params = {**run_params(scope), "visit_ids": json.dumps(visit_ids), "with_group": with_group}
        cur.execute(read_sql(_EXPLAIN_SQL.format("select_visits")), params)
        return _rows(cur)
    finally:
        cur.close()


def read_deleted_visits(sf_conn: Any, scope: SourceScope, visit_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The given visits that the source lists as deleted, by id: rows and last update."""
    cur = sf_conn.cursor()
    try:
        params = {**run_params(scope), "visit_ids": json.dumps(visit_ids)}
        cur.execute(read_sql(_EXPLAIN_SQL.format("select_deleted_visits")), params)
        return {str(r["visit_id"]): r for r in _rows(cur)}
    finally:
        cur.close()
