"""Pair rows for the PostgreSQL-side tests of detect and finalize: a narrow set of written columns, a
writer over them, and a stored row read back."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import psycopg

from visit_conflicts.columns import FLAG_COLUMNS
from visit_conflicts.store.detect import PairWriter

COLUMNS = (
    "VisitID",
    "ConVisitID",
    "SSN",
    "VisitDate",
    "ProviderID",
    "ConProviderID",
    "AgencyContact",
    "SchStartTime",
    "DistanceMilesFromLatLng",
    "IsMissed",
    *FLAG_COLUMNS,
)
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 27, 9, 0)


def vid() -> str:
    return str(uuid.uuid4())


def pair(
    v: str,
    c: str,
    *,
    ssn: str = "111-22-3333",
    flags: str = "YNNNNNN",
    contact: str | None = None,
    start: datetime = datetime(2026, 11, 20, 9, 0),
    miles: float = 1.25,
) -> tuple[Any, ...]:
    return (
        v,
        c,
        ssn,
        DAY,
        str(uuid.UUID(int=1)),
        str(uuid.UUID(int=2)),
        contact,
        start,
        miles,
        False,
        *flags,
    )


def writer(pg: psycopg.Connection, run_id: str = "run-1", chunk: int = 0) -> PairWriter:
    pg.autocommit = False
    return PairWriter(pg, COLUMNS, run_id=run_id, chunk=chunk)


def row(pg: psycopg.Connection, v: str, c: str) -> dict[str, Any]:
    cur = pg.execute(
        'SELECT *, xmin::text AS xmin FROM conflictvisitmaps WHERE "VisitID" = %s AND "ConVisitID" = %s',
        (v, c),
    )
    names = [d.name for d in cur.description or []]
    found = cur.fetchone()
    pg.commit()
    assert found is not None
    return dict(zip(names, found, strict=True))
