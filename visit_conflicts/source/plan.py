"""Snowflake side of the plan step: the run's delta groups.

A delta group is a (visit date, trimmed SSN) with at least one visit updated since the cutoff, inside
the window, with exclusions applied (`sql/snowflake/plan/create_delta_group.sql`). The groups go into
the session table `VC_DELTA_GROUP`, each with its chunk; `iter_delta_groups` streams them to PostgreSQL.
Detect builds the same session table for its own chunk (`create_delta_groups`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from visit_conflicts.source.common import (
    SourceScope,
    as_date,
    check_batch_size,
    check_paramstyle,
    load_reference_data,
    run_params,
)
from visit_conflicts.sql_files import read_sql

if TYPE_CHECKING:
    from visit_conflicts.store.reference import ReferenceData

_PLAN_SQL = "snowflake/plan/{}.sql"


def create_delta_groups(sf_conn: Any, scope: SourceScope, ref: ReferenceData) -> None:
    """(Re)build the session tables: reference data, then the scope's delta groups (`VC_DELTA_GROUP`)."""
    check_paramstyle(sf_conn)
    cur = sf_conn.cursor()
    try:
        load_reference_data(cur, ref)
        cur.execute(read_sql(_PLAN_SQL.format("create_delta_group")), run_params(scope))
    finally:
        cur.close()


def iter_delta_groups(
    sf_conn: Any, scope: SourceScope, ref: ReferenceData, batch_size: int
) -> Iterator[list[tuple[date, str, int]]]:
    """Stream the scope's delta groups as batches of (visit_date, ssn, chunk)."""
    check_batch_size(batch_size)
    create_delta_groups(sf_conn, scope, ref)
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(_PLAN_SQL.format("select_delta_groups")))
        while rows := cur.fetchmany(batch_size):
            yield [(as_date(d), str(s), int(c)) for d, s, c in rows]
    finally:
        cur.close()
