"""Rows of the conflict tables for status-step tests: insert pairs and conflicts with plain defaults,
read them back, snapshot both tables, and put deleted visits into the Snowflake emulation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from devkit.emulation import create_source_schema
from visit_conflicts.source.connection import connect_source

DAY = date(2026, 11, 20)
# Wall-clock times around the tests' cutoff (2026-11-25 21:00 in New York): OLD rows were written long
# before it (nothing touched them since the watermark), RECENT rows by the pipeline since then.
OLD = datetime(2026, 10, 1, 8, 0)
RECENT = datetime(2026, 11, 26, 12, 0)

PAIR_DEFAULTS: dict[str, Any] = {
    "SSN": "111-22-3333",
    "VisitDate": DAY,
    "ProviderName": "Agency A",
    "ConProviderName": "Agency B",
    "SchStartTime": datetime(2026, 11, 20, 9, 0),
    "SchEndTime": datetime(2026, 11, 20, 13, 0),
    "ConSchStartTime": datetime(2026, 11, 20, 10, 0),
    "ConSchEndTime": datetime(2026, 11, 20, 14, 0),
    "IsMissed": False,
    "ConIsMissed": False,
    "StatusFlag": "N",
    "CreatedDate": RECENT,
}
CONFLICT_DEFAULTS: dict[str, Any] = {"StatusFlag": "N", "CreatedDate": RECENT, "UpdatedRFlag": "1"}


def new_id() -> str:
    return str(uuid.uuid4())


def _insert(pg: psycopg.Connection, table: str, key: str, values: dict[str, Any]) -> int:
    columns = list(values)
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(sql.Placeholder() for _ in columns),
        sql.Identifier(key),
    )
    row = pg.execute(statement, [values[c] for c in columns]).fetchone()
    assert row is not None
    return int(row[0])


def insert_conflict(pg: psycopg.Connection, **values: Any) -> int:
    """A `conflicts` row ('N', UpdatedRFlag '1', created since the cutoff unless overridden); returns
    its id."""
    row = {**CONFLICT_DEFAULTS, **values}
    row.setdefault("RECORDEDDATETIME", row["CreatedDate"])  # not the server clock: snapshots compare
    return _insert(pg, "conflicts", "CONFLICTID", row)


def insert_pair(pg: psycopg.Connection, conflict_id: int | None, **values: Any) -> int:
    """A `conflictvisitmaps` row of `conflict_id` with fresh visit ids and plain defaults (inserted since
    the cutoff, status 'N'); returns its ID."""
    row = {
        "CONFLICTID": conflict_id,
        "VisitID": new_id(),
        "ConVisitID": new_id(),
        "AppVisitID": 1000 + uuid.uuid4().int % 10**9,
        "ConAppVisitID": 1000 + uuid.uuid4().int % 10**9,
        **PAIR_DEFAULTS,
        **values,
    }
    return _insert(pg, "conflictvisitmaps", "ID", row)


def _one(pg: psycopg.Connection, statement: str, key: int) -> dict[str, Any]:
    cur = pg.execute(statement.encode(), (key,))
    names = [d.name for d in cur.description or []]
    found = cur.fetchone()
    assert found is not None, f"no row {key}"
    return dict(zip(names, found, strict=True))


def pair(pg: psycopg.Connection, pair_id: int) -> dict[str, Any]:
    return _one(pg, 'SELECT * FROM conflictvisitmaps WHERE "ID" = %s', pair_id)


def conflict(pg: psycopg.Connection, conflict_id: int) -> dict[str, Any]:
    return _one(pg, 'SELECT * FROM conflicts WHERE "CONFLICTID" = %s', conflict_id)


def row_versions(pg: psycopg.Connection) -> dict[str, int]:
    """Row versions (xmin) of every row of both tables, keyed 'cvm:<ID>' / 'cf:<CONFLICTID>': a row that
    was written, even with equal values, gets a new version."""
    rows = pg.execute(
        """SELECT 'cvm:' || "ID", xmin::text::bigint FROM conflictvisitmaps
           UNION ALL SELECT 'cf:' || "CONFLICTID", xmin::text::bigint FROM conflicts"""
    ).fetchall()
    return {key: version for key, version in rows}


def snapshot(pg: psycopg.Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every column of every row of both tables, in key order."""
    pairs = pg.execute('SELECT * FROM conflictvisitmaps ORDER BY "ID"').fetchall()
    conflicts = pg.execute('SELECT * FROM conflicts ORDER BY "CONFLICTID"').fetchall()
    return pairs, conflicts


def create_deleted_visits_table(source_dir: Path) -> None:
    """The source tables (the project's Snowflake schema), among them the one Phase B reads."""
    conn = connect_source(source_dir)
    try:
        create_source_schema(conn)
    finally:
        conn.close()


def add_deleted_visits(source_dir: Path, rows: Iterable[tuple[str | None, datetime, datetime]]) -> None:
    """Deleted visits as ("Visit Id", "Visit Date", "Visit Updated Timestamp"); timestamps tz-aware."""
    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        for visit_id, visit_date, updated in rows:
            cur.execute(
                "INSERT INTO FACTVISITCALLPERFORMANCE_DELETED_CR "
                '("Visit Id", "Visit Date", "Visit Updated Timestamp") VALUES (%s, %s, %s)',
                (visit_id, visit_date.isoformat(), updated.isoformat()),
            )
        cur.close()
    finally:
        conn.close()
