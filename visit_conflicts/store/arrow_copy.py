"""Arrow data into PostgreSQL by binary COPY: conversion to the target column types, then bulk encoding.

Binary COPY is the cheapest way to move wide rows into PostgreSQL: the server does no text parsing (a
text COPY of a 206-column pair row costs the server most of its time in the type input functions), and
the client encodes whole Arrow columns in native code (`pgpq`) instead of formatting values in Python.

Binary COPY gives no type coercion: every field must arrive in the exact binary form of its column's
type. `ArrowCopy.convert` therefore turns a batch into the column types of the target table first,
doing what PostgreSQL's input and assignment casts would have done on a text COPY: uuid text to 16
bytes, double to `real`, fractions to integers rounded half away from zero. Values those casts would
reject (a malformed uuid, an integer out of range, a finite number too large for `real`) raise a
`ValueError` naming the column, before anything is sent. The converted table is also what the caller
compares and writes, so a value is normalised exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from pgpq import ArrowToPostgresBinaryEncoder
from psycopg import sql

# PostgreSQL type name -> the Arrow type whose binary COPY encoding that type's receive function reads.
# uuid travels as 16 raw bytes (pgpq sends fixed-size binary as the bare bytes, which uuid_recv reads).
ARROW_TYPES: dict[str, pa.DataType] = {
    "uuid": pa.binary(16),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "text": pa.string(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}

_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _ch in enumerate(b"0123456789abcdef"):
    _HEX[_ch] = _i
for _i, _ch in enumerate(b"ABCDEF"):
    _HEX[_ch] = 10 + _i
# Positions of the 32 hex digits in the canonical 36-character form 8-4-4-4-12.
_HEX_POSITIONS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
# The two lower-case hex digits of each byte value (16-byte values -> uuid text).
_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint8).reshape(256, 2)


def column_types(conn: psycopg.Connection, relation: str, columns: Sequence[str]) -> dict[str, str]:
    """PostgreSQL type names (pg_type.typname) of `columns` of `relation` (qualified or on the path)."""
    rows = conn.execute(
        """SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
        (relation,),
    ).fetchall()
    types = {name: typname for name, typname in rows}
    missing = [c for c in columns if c not in types]
    if missing:
        raise ValueError(f"{relation} has no column(s) {missing}")
    return {c: types[c] for c in columns}


def varchar_lengths(conn: psycopg.Connection, relation: str, columns: Sequence[str]) -> dict[str, int]:
    """The declared length of each `varchar(n)` column among `columns` of `relation` (D23: a longer value
    cannot be stored)."""
    rows = conn.execute(
        """SELECT a.attname, a.atttypmod - 4 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
             AND t.typname = 'varchar' AND a.atttypmod > 4""",
        (relation,),
    ).fetchall()
    wanted = set(columns)
    return {name: int(n) for name, n in rows if name in wanted}


def too_long(table: pa.Table, lengths: dict[str, int]) -> pa.Array | None:
    """A boolean mask of the rows holding a text longer than its column allows, or None when none does
    (PostgreSQL counts characters, as `utf8_length` does)."""
    mask = None
    present = set(table.column_names)  # a list built on every access: a set once, not per column
    for column, limit in lengths.items():
        if column not in present:
            continue
        values = table.column(column)
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            continue
        # A character takes at least one byte: when no value has more bytes than the column allows
        # characters (nearly always), the characters need not be counted.
        longest = pc.max(pc.binary_length(values)).as_py()
        if longest is None or longest <= limit:
            continue
        over = pc.fill_null(pc.greater(pc.utf8_length(values), limit), False)
        mask = over if mask is None else pc.or_(mask, over)
    if mask is None or not pc.any(mask).as_py():
        return None
    return mask


def _uuid_bytes(column: str, array: pa.Array) -> pa.Array:
    """uuid text (any form PostgreSQL accepts; canonical form vectorised) -> 16-byte values."""
    if array.type == pa.binary(16):
        return array
    if isinstance(array.type, pa.ExtensionType) and array.type.storage_type == pa.binary(16):
        return array.storage
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.binary(16))
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    filled = pc.fill_null(array, "00000000-0000-0000-0000-000000000000")
    lengths = pc.binary_length(filled).to_numpy(zero_copy_only=False)
    if len(filled) and (lengths == 36).all():
        offsets = np.frombuffer(filled.buffers()[1], dtype=np.int32)[
            filled.offset : filled.offset + len(filled) + 1
        ]
        chars = np.frombuffer(filled.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 36)
        dashes_ok = (chars[:, [8, 13, 18, 23]] == ord("-")).all()
        nibbles = _HEX[chars[:, _HEX_POSITIONS]]
        if dashes_ok and not (nibbles == 255).any():
            packed = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
            data = pa.py_buffer(packed.tobytes())
            # A fresh bitmap at offset 0 (the input's may belong to a slice).
            validity = pc.is_valid(array).buffers()[1] if array.null_count else None
            return pa.Array.from_buffers(pa.binary(16), len(array), [validity, data], array.null_count)
    # Rare forms (braces, no dashes, upper case mixed with dashes elsewhere): per value, as uuid_in would.
    out: list[bytes | None] = []
    for value in array.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            out.append(uuid.UUID(value).bytes)
        except ValueError:
            raise ValueError(f"column {column}: {value!r} is not a uuid") from None
    return pa.array(out, pa.binary(16))


def uuid_text(values: pa.Array) -> pa.Array:
    """16-byte uuids -> their text as PostgreSQL prints it (lower case, 8-4-4-4-12); the inverse of
    `_uuid_bytes` on the canonical form. NULL stays NULL."""
    n = len(values)
    raw = pc.fill_null(values, pa.scalar(b"\0" * 16, pa.binary(16)))
    data = np.frombuffer(raw.buffers()[1], dtype=np.uint8, count=16 * n, offset=raw.offset * 16)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _HEX_POSITIONS] = _HEX_PAIRS[data.reshape(n, 16)].reshape(n, 32)
    offsets = pa.py_buffer(np.arange(0, 36 * n + 1, 36, dtype=np.int32).tobytes())
    strings = pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(text.tobytes())])
    return pc.if_else(pc.is_valid(values), strings, pa.scalar(None, pa.string()))


def _to_integer(column: str, array: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_floating(array.type) or pa.types.is_decimal(array.type):
        # PostgreSQL's numeric -> integer assignment cast rounds half away from zero.
        array = pc.round(array, 0, round_mode="half_towards_infinity")
    try:
        return pc.cast(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ValueError(f"column {column}: cannot store as {target}: {e}") from None


def _to_float32(column: str, array: pa.Array) -> pa.Array:
    converted = pc.cast(array, pa.float32(), safe=False)
    # A finite value that becomes infinite is what float4in rejects as out of range.
    if pa.types.is_floating(array.type) or pa.types.is_decimal(array.type):
        overflow = pc.and_(pc.is_inf(converted), pc.invert(pc.is_inf(pc.cast(array, pa.float64()))))
        if pc.any(overflow).as_py():
            raise ValueError(f"column {column}: value out of range for type real")
    return converted


def convert_column(column: str, array: pa.Array | pa.ChunkedArray, pg_type: str) -> pa.Array:
    """One column converted to the Arrow type of its PostgreSQL type (see the module docstring)."""
    if isinstance(array, pa.ChunkedArray):
        # One chunk (the usual case) is used as it is; combine_chunks would copy it.
        array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    target = ARROW_TYPES.get(pg_type)
    if target is None:
        raise ValueError(f"column {column}: type {pg_type} is not supported by binary COPY here")
    if array.type == target:
        return array
    if pg_type == "uuid":
        return _uuid_bytes(column, array)
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target)
    if pg_type in ("int2", "int4", "int8"):
        return _to_integer(column, array, target)
    if pg_type == "float4":
        return _to_float32(column, array)
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(array.type) and array.type.unit == "ns":
        # PostgreSQL keeps microseconds and rounds the rest.
        array = pc.round_temporal(array, 1, "microsecond")
    try:
        return pc.cast(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ValueError(f"column {column}: cannot store {array.type} as {pg_type}: {e}") from None


@dataclass(frozen=True)
class ArrowCopy:
    """Binary COPY of Arrow batches into `relation` (a table, or a temp table typed like one)."""

    relation: sql.Composable
    types: dict[str, str]  # column -> PostgreSQL type name, in COPY column order

    @property
    def columns(self) -> list[str]:
        return list(self.types)

    def convert(self, table: pa.Table) -> pa.Table:
        """`table` with exactly `columns`, in order, each converted to its column type."""
        present = set(table.column_names)
        missing = [c for c in self.types if c not in present]
        if missing:
            raise ValueError(f"batch lacks column(s) {missing}")
        arrays = [convert_column(c, table.column(c), t) for c, t in self.types.items()]
        return pa.Table.from_arrays(arrays, names=self.columns)

    def statement(self) -> sql.Composed:
        return sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary)").format(
            self.relation, sql.SQL(", ").join(map(sql.Identifier, self.types))
        )

    def copy(self, cur: psycopg.Cursor[object], converted: pa.Table) -> int:
        """COPY a table already returned by `convert` (or built with its types). Returns rows sent."""
        if converted.num_rows == 0:
            return 0
        encoder = ArrowToPostgresBinaryEncoder(converted.schema)
        parts = [encoder.write_header()]
        parts.extend(encoder.write_batch(b) for b in converted.to_batches())
        parts.append(encoder.finish())
        with cur.copy(self.statement()) as copy:
            for part in parts:
                if part:
                    copy.write(part)
        return converted.num_rows
