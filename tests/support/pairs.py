"""Pair rows for the PostgreSQL-side tests of detect and finalize: a narrow set of written columns, a
writer over them, and a stored row read back.

The writer takes pairs in two forms, and `FEED["mode"]` says which one `writer()` feeds it: "rows"
(Python rows: the writer converts every row and computes the fingerprint itself) or "source" (an Arrow
batch in the pair stream's form, with the `PairFingerprint` the pair query computes: the very SQL of
`source.common.with_fingerprint`, run by DuckDB as the emulation runs it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import duckdb
import psycopg
import pyarrow as pa

from visit_conflicts.columns import FLAG_COLUMNS
from visit_conflicts.source.common import conform_table, pair_arrow_schema, with_fingerprint
from visit_conflicts.store.detect import PairRows, PairWriter

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


FEED = {"mode": "rows"}


def source_batch(w: PairWriter, rows: list[tuple[Any, ...]]) -> pa.Table:
    """`rows` as the pair stream hands them to the writer: the wire schema of the writer's columns, and
    the fingerprint computed by the source's SQL over that form."""
    schema = pair_arrow_schema(w.column_types)
    wire = conform_table(
        pa.Table.from_arrays(
            [pa.array([r[i] for r in rows]) for i in range(len(w.columns))], names=list(w.columns)
        ),
        schema,
    )
    con = duckdb.connect()
    try:
        con.register("wire", wire)
        hashed = con.sql(with_fingerprint("SELECT * FROM wire", w.columns)).to_arrow_table()
    finally:
        con.close()
    return conform_table(hashed, pair_arrow_schema(w.column_types, fingerprint=True))


class SourceFedWriter(PairWriter):
    """A writer whose Python rows arrive in the pair stream's form, with the source's fingerprint."""

    def write_batch(self, rows: PairRows, *, now: datetime) -> Any:
        if isinstance(rows, list) and rows:
            rows = source_batch(self, [tuple(r) for r in rows])
        return super().write_batch(rows, now=now)


def writer(pg: psycopg.Connection, run_id: str = "run-1", chunk: int = 0) -> PairWriter:
    pg.autocommit = False
    kind = SourceFedWriter if FEED["mode"] == "source" else PairWriter
    return kind(pg, COLUMNS, run_id=run_id, chunk=chunk)


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
