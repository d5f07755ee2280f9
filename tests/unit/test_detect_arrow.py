"""detect's Arrow path (`source.detect.iter_pair_tables`) with result chunks shaped the way the real
Snowflake connector hands them out: no database, the connector replaced by fakes."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from visit_conflicts.columns import INSERVICE_PAIR_COLUMNS, PAIR_COLUMNS, PAIR_FINGERPRINT
from visit_conflicts.source import common, detect

CONTRACT = Path(__file__).resolve().parents[1] / "contract" / "postgres_schema.toml"
TYPES = {
    "VisitID": "uuid",
    "AppVisitID": "int8",
    "VisitStartTime": "timestamp",
    "ETATravelMinutes": "int4",
    "PLatitude": "float4",
}
SCOPE = common.SourceScope(date(2024, 1, 1), date(2024, 2, 1), datetime(2024, 1, 15, tzinfo=UTC), 0, 1)


def _chunk(ids: list[int], app_type: pa.DataType, unit: str, *, null_latitude: bool = False) -> pa.Table:
    """One result chunk: the connector sizes NUMBER(38,0) per chunk and picks the timestamp unit."""
    n = len(ids)
    apps: list[Any] = [Decimal(i) if pa.types.is_decimal(app_type) else i for i in ids]
    return pa.table(
        {
            "VisitID": pa.array([f"00000000-0000-4000-8000-{i:012d}" for i in ids]),
            "AppVisitID": pa.array(apps, app_type),
            "VisitStartTime": pa.array([datetime(2024, 1, 2, 9, 0, i % 60) for i in ids], pa.timestamp(unit)),
            "ETATravelMinutes": pa.array([12.25] * n, pa.float64()),
            "PLatitude": pa.nulls(n) if null_latitude else pa.array([40.5] * n, pa.float64()),
        }
    )


class _Batch:
    def __init__(self, table: pa.Table, calls: list[dict[str, Any]]) -> None:
        self.table, self.calls = table, calls

    def to_arrow(self, connection: Any = None, **kwargs: Any) -> pa.Table:
        self.calls.append(kwargs)
        return self.table


class _Connection:
    """Accepts the session-table statements; the pair query answers with the given result chunks."""

    def __init__(self, chunks: list[pa.Table]) -> None:
        self.calls: list[dict[str, Any]] = []
        self.batches = [_Batch(t, self.calls) for t in chunks]

    def cursor(self) -> _Connection:
        return self

    def execute(self, command: str, params: Any = None) -> None:
        pass

    def get_result_batches(self) -> list[_Batch]:
        return self.batches

    def close(self) -> None:
        pass


def test_result_chunks_of_mixed_widths_and_units_join() -> None:
    """D13 needs every pair read, and detect reads pairs as joined Arrow batches: chunks with int8,
    int16, int64 or decimal ids and ns or us timestamps (the real connector's per-chunk choices) are
    cast to the one pair schema first, so joining them never raises, and no value changes."""
    chunks = [
        _chunk([1, 2, 3], pa.int8(), "ns"),
        _chunk([4, 5], pa.int64(), "us"),
        _chunk([300, 301, 302, 303], pa.int16(), "ns", null_latitude=True),
        _chunk([], pa.int8(), "us"),
        _chunk([2**40, 2**40 + 1], pa.decimal128(38, 0), "us"),
    ]
    with pytest.raises(pa.ArrowInvalid):
        pa.concat_tables(chunks)  # what the join did before the cast
    schema = common.pair_arrow_schema(TYPES)
    conn = _Connection(chunks)
    tables = list(detect.iter_pair_tables(conn, SCOPE, 4, schema))
    assert [t.num_rows for t in tables] == [4, 4, 3]
    assert all(t.schema.equals(schema) for t in tables)
    joined = pa.concat_tables(tables)
    assert joined.column("AppVisitID").to_pylist() == [1, 2, 3, 4, 5, 300, 301, 302, 303, 2**40, 2**40 + 1]
    assert joined.column("VisitStartTime").to_pylist()[3] == datetime(2024, 1, 2, 9, 0, 4)
    assert joined.column("ETATravelMinutes").to_pylist()[0] == 12.25  # the writer rounds it
    assert joined.column("PLatitude").null_count == 4
    assert conn.calls and all(c == {"force_microsecond_precision": True} for c in conn.calls)


def test_sub_microsecond_digits_are_dropped_like_the_connector_does() -> None:
    schema = common.pair_arrow_schema({"VisitStartTime": "timestamp"})
    ns = pa.table({"VisitStartTime": pa.array([1_700_000_000_123_456_789], pa.timestamp("ns"))})
    out = common.conform_table(ns, schema).column(0).cast(pa.int64()).to_pylist()
    assert out == [1_700_000_000_123_456]


def test_a_result_with_other_column_names_is_refused() -> None:
    """Upper-cased names (an account with QUOTED_IDENTIFIERS_IGNORE_CASE) or a changed projection stop
    the chunk with a message that says what to check, instead of writing misnamed columns."""
    schema = common.pair_arrow_schema(TYPES)
    upper = _chunk([1], pa.int8(), "us").rename_columns([n.upper() for n in TYPES])
    with pytest.raises(common.SourceQueryError, match="QUOTED_IDENTIFIERS_IGNORE_CASE"):
        list(detect.iter_pair_tables(_Connection([upper]), SCOPE, 10, schema))


def test_every_pair_column_has_a_source_type() -> None:
    """The schema covers both pair kinds' columns with the conflictvisitmaps types of the contract: ids
    as text, int8 as int64, int4 (a fraction may come, the writer rounds) and real as float64."""
    contract = tomllib.loads(CONTRACT.read_text())["tables"]["conflictvisitmaps"]["columns"]
    # As pg_type names them at run time (store.arrow_copy.column_types): real is float4.
    types = {c["name"]: c["type"].split("(")[0].replace("real", "float4") for c in contract}
    schema = common.pair_arrow_schema({c: types[c] for c in INSERVICE_PAIR_COLUMNS})
    assert schema.names == list(INSERVICE_PAIR_COLUMNS) and set(PAIR_COLUMNS) <= set(schema.names)
    assert schema.field("VisitID").type == pa.string()
    assert schema.field("AppVisitID").type == pa.int64()
    assert schema.field("ETATravelMinutes").type == pa.float64()
    assert schema.field("PLatitude").type == pa.float64()
    assert schema.field("VisitDate").type == pa.date32()
    assert schema.field("InserviceStartDate").type == pa.timestamp("us")
    with pytest.raises(common.SourceQueryError, match="numeric"):
        common.pair_arrow_schema({"X": "numeric"})


def _source_fingerprints(table: pa.Table) -> list[int]:
    """The fingerprints the pair query's wrapper computes over `table`, run by DuckDB as the emulation
    runs it, read back as the stream reads them."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("pairs", table)
        out = con.sql(common.with_fingerprint("SELECT * FROM pairs", table.column_names)).to_arrow_table()
    finally:
        con.close()
    schema = pa.schema([*table.schema, pa.field(PAIR_FINGERPRINT, pa.int64())])
    return common.conform_table(out, schema).column(PAIR_FINGERPRINT).to_pylist()


def test_the_source_fingerprint_changes_with_any_single_value_and_its_column() -> None:
    """D11 through the fingerprint the pair query computes (HASH over the label with the column list,
    and every pair column, in order): equal rows agree; one changed value, two values swapped between
    columns, a NULL against an empty text, and another column list each give another value (a matching
    fingerprint lets a pair skip the SQL compare)."""
    rows = pa.table(
        {
            "VisitID": ["a", "a", "a", "a", "a"],
            "SameSchTimeFlag": ["Y", "Y", "N", "Y", "Y"],
            "DistanceFlag": ["N", "N", "Y", "N", "N"],
            "AgencyContact": ["x", "x", "x", None, ""],
            "BilledHours": [1.5, 1.5, 1.5, 1.5, 1.5],
        }
    )
    same, twin, swapped, null, empty = _source_fingerprints(rows)
    assert same == twin
    assert len({same, swapped, null, empty}) == 4
    changed = _source_fingerprints(rows.set_column(4, "BilledHours", pa.array([1.5, 1.75, 1.5, 1.5, 1.5])))
    assert changed[0] == same and changed[1] != same
    # Another column list (same values, one column named otherwise) never matches an old value.
    renamed = _source_fingerprints(rows.rename_columns([*rows.column_names[:4], "ConBilledHours"]))
    assert renamed[0] != same


def test_a_stream_with_the_fingerprint_wraps_the_query_and_reads_unsigned_hashes_as_signed() -> None:
    """`pair_arrow_schema(..., fingerprint=True)` makes the pair query compute the fingerprint (its
    last column) and the stream takes the emulation's unsigned 64-bit hash as the same bits signed."""
    schema = common.pair_arrow_schema({"VisitID": "uuid"}, fingerprint=True)
    assert schema.names == ["VisitID", PAIR_FINGERPRINT]
    query = common.pair_query('SELECT 1 AS "VisitID"\n-- a trailing comment', schema)
    assert query.startswith("SELECT p.*, HASH(") and 'p."VisitID"' in query
    assert common.pair_query("SELECT 1", common.pair_arrow_schema({"VisitID": "uuid"})) == "SELECT 1"
    unsigned = pa.table({"VisitID": ["a", "b"], PAIR_FINGERPRINT: pa.array([2**64 - 1, 5], pa.uint64())})
    assert common.conform_table(unsigned, schema).column(PAIR_FINGERPRINT).to_pylist() == [-1, 5]
