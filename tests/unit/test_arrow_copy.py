"""Conversion of Arrow batches to the binary COPY types of their PostgreSQL columns (store/arrow_copy)."""

from __future__ import annotations

import uuid
from datetime import datetime

import pyarrow as pa
import pytest

from visit_conflicts.store.arrow_copy import convert_column, too_long, uuid_text


def test_canonical_uuid_text_becomes_its_16_bytes_with_nulls_kept() -> None:
    values = [str(uuid.uuid4()), None, str(uuid.uuid4()).upper()]
    out = convert_column("VisitID", pa.array(values), "uuid")
    assert out.type == pa.binary(16)
    assert out.to_pylist() == [uuid.UUID(v).bytes if v else None for v in values]


def test_uuid_of_a_sliced_array_keeps_the_right_rows_and_nulls() -> None:
    values = [str(uuid.uuid4()) if i % 3 else None for i in range(10)]
    sliced = pa.array(values).slice(4, 5)
    out = convert_column("VisitID", sliced, "uuid")
    assert out.to_pylist() == [uuid.UUID(v).bytes if v else None for v in values[4:9]]


def test_other_uuid_forms_postgres_accepts_are_converted() -> None:
    u = uuid.uuid4()
    out = convert_column("VisitID", pa.array([u.hex, "{" + str(u) + "}"]), "uuid")
    assert out.to_pylist() == [u.bytes, u.bytes]


def test_16_byte_uuids_print_as_postgres_prints_them_with_nulls_and_slices_kept() -> None:
    """The uuid text of ReverseUUID (C-14): lower case with dashes, the inverse of the conversion."""
    values = [uuid.uuid4() if i % 3 else None for i in range(10)]
    stored = pa.array([v.bytes if v else None for v in values], pa.binary(16)).slice(2, 7)
    assert uuid_text(stored).to_pylist() == [str(v) if v else None for v in values[2:9]]
    assert convert_column("VisitID", uuid_text(stored), "uuid").to_pylist() == stored.to_pylist()


@pytest.mark.parametrize("bad", ["not-a-uuid", "0123456789ab-cdef-0123-4567-89abcdefxyz0"])
def test_malformed_uuid_is_a_clear_error_naming_the_column(bad: str) -> None:
    with pytest.raises(ValueError, match="ConVisitID"):
        convert_column("ConVisitID", pa.array([str(uuid.uuid4()), bad]), "uuid")


def test_fractions_for_integer_columns_round_half_away_from_zero() -> None:
    out = convert_column("ETATravelMinutes", pa.array([30.5, 30.49, -2.5, None]), "int4")
    assert out.type == pa.int32()
    assert out.to_pylist() == [31, 30, -3, None]


def test_integer_out_of_range_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="MinuteDiffBetweenSch"):
        convert_column("MinuteDiffBetweenSch", pa.array([2**40]), "int4")


def test_double_becomes_real_and_overflow_is_refused() -> None:
    assert convert_column("BilledRate", pa.array([1.25, None]), "float4").type == pa.float32()
    with pytest.raises(ValueError, match="out of range for type real"):
        convert_column("BilledRate", pa.array([1e300]), "float4")
    # Infinity is a value real can hold: passed through, as float4in accepts 'Infinity'.
    assert convert_column("BilledRate", pa.array([float("inf")]), "float4").to_pylist() == [float("inf")]


def test_all_null_column_takes_the_column_type() -> None:
    for pg_type, arrow_type in (
        ("varchar", pa.string()),
        ("timestamp", pa.timestamp("us")),
        ("uuid", pa.binary(16)),
    ):
        out = convert_column("X", pa.nulls(3), pg_type)
        assert out.type == arrow_type and out.null_count == 3


def test_nanosecond_timestamps_round_to_microseconds() -> None:
    ns = pa.array([1_000_000_000_000_001_500], pa.timestamp("ns"))
    out = convert_column("SchStartTime", ns, "timestamp")
    assert out.type == pa.timestamp("us")
    assert out.cast(pa.int64()).to_pylist() == [1_000_000_000_000_002]
    assert isinstance(out.to_pylist()[0], datetime)


def test_unsupported_column_type_is_refused() -> None:
    with pytest.raises(ValueError, match="numeric"):
        convert_column("Amount", pa.array([1.5]), "numeric")


def test_too_long_counts_characters_not_bytes() -> None:
    """D23: varchar(n) limits characters. A value of n two-byte characters fits (more bytes than n, so the
    byte-length shortcut must fall through to counting); n + 1 characters do not; NULLs never do."""
    fits, over = "é" * 5, "é" * 6
    table = pa.table({"name": [fits, None, "abc"], "other": ["x", "y", "z"]})
    assert too_long(table, {"name": 5, "other": 1}) is None
    table = pa.table({"name": [fits, over, None], "other": ["x", "y", "zz"]})
    mask = too_long(table, {"name": 5, "other": 1, "absent": 3})
    assert mask is not None and mask.to_pylist() == [False, True, True]
