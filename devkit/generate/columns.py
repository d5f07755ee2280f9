"""Vectorised column builders: UUID text, formatted numbers, and source-typed Arrow tables.

The bulk volume (millions of visits) never goes through per-row Python: ids are built as byte matrices
and wrapped as Arrow string buffers, text is assembled with Arrow compute kernels, and foreign keys are
`take`s from the dimension's id column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from devkit.generate.context import TS_TYPE
from visit_conflicts.source.schema import source_columns

_HEX_PAIRS = np.array([list(f"{b:02x}".encode()) for b in range(256)], dtype=np.uint8)
_TRIPLES = np.array([list(f"{i:03d}".encode()) for i in range(1000)], dtype=np.uint8)


def uuid_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 36) uint8 matrix of lower-case UUID v4 text."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = _HEX_PAIRS[raw].reshape(n, 32)
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8], out[:, 9:13], out[:, 14:18] = hexed[:, 0:8], hexed[:, 8:12], hexed[:, 12:16]
    out[:, 19:23], out[:, 24:36] = hexed[:, 16:20], hexed[:, 20:32]
    return out


def text_from_matrix(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """A string array whose i-th value is row i of a fixed-width ASCII byte matrix (NULL where not valid)."""
    n, width = chars.shape
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    data = np.ascontiguousarray(chars)
    bitmap = (
        None if valid is None else pa.py_buffer(np.packbits(np.asarray(valid, dtype=bool), bitorder="little"))
    )
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap)


def digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of zero-padded decimal digits of non-negative integers (width <= 12)."""
    values = np.asarray(values, dtype=np.int64)
    groups = -(-width // 3)
    out = np.empty((len(values), groups * 3), dtype=np.uint8)
    for g in range(groups):  # three digits per table lookup instead of one division per digit
        out[:, 3 * g : 3 * g + 3] = _TRIPLES[values // 1000 ** (groups - 1 - g) % 1000]
    return out[:, groups * 3 - width :]


def quoted_text(chars: np.ndarray, quoted: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Like `text_from_matrix`, with the (few) rows where `quoted` wrapped in double quotes."""
    text = text_from_matrix(chars, valid)
    rows = np.flatnonzero(quoted)
    if len(rows) == 0:
        return text
    wrapped = join_text('"', text_from_matrix(chars[rows]), '"')
    return pc.replace_with_mask(text, pa.array(np.asarray(quoted, dtype=bool)), wrapped)


def gps_matrix(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 22) matrix of "DD.DDDDDDD,-DD.DDDDDDD" text; needs 10 <= lat < 100 and -100 < lon <= -10 (NY)."""
    lat_i = np.rint(np.asarray(lat) * 1e7).astype(np.int64)
    lon_i = np.rint(-np.asarray(lon) * 1e7).astype(np.int64)
    if lat_i.size and (
        lat_i.min() < 10**8 or lat_i.max() >= 10**9 or lon_i.min() < 10**8 or lon_i.max() >= 10**9
    ):
        raise ValueError("gps_matrix only formats latitudes in [10, 100) and longitudes in (-100, -10]")
    out = np.empty((len(lat_i), 22), dtype=np.uint8)
    lat_d, lon_d = digits_matrix(lat_i, 9), digits_matrix(lon_i, 9)
    out[:, 0:2], out[:, 2], out[:, 3:10] = lat_d[:, :2], ord("."), lat_d[:, 2:]
    out[:, 10], out[:, 11] = ord(","), ord("-")
    out[:, 12:14], out[:, 14], out[:, 15:22] = lon_d[:, :2], ord("."), lon_d[:, 2:]
    return out


def uuid_array(rng: np.random.Generator, n: int) -> pa.StringArray:
    return text_from_matrix(uuid_matrix(rng, n))


def take(values: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """values[index], NULL where `valid` is False."""
    idx = pa.array(np.asarray(index, dtype=np.int64), mask=None if valid is None else ~np.asarray(valid))
    return pc.take(values, idx)


def choose_text(options: Sequence[str | None], index: np.ndarray) -> pa.Array:
    """options[index] as a string array (None options give NULL)."""
    return pc.take(pa.array(list(options), pa.string()), pa.array(np.asarray(index, dtype=np.int64)))


def random_text(rng: np.random.Generator, options: Sequence[str | None], n: int) -> pa.Array:
    """`n` uniformly random picks from `options` (one `rng.integers` draw of `n` values)."""
    return choose_text(options, rng.integers(0, len(options), n))


def int_text(values: np.ndarray, width: int = 0) -> pa.Array:
    """Decimal text of non-negative integers, left-padded with zeros to `width`."""
    text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def join_text(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation (NULL if any array part is NULL)."""
    return pc.binary_join_element_wise(*parts, sep)


def fixed_decimal(values: np.ndarray, decimals: int) -> pa.Array:
    """Fixed-point text with exactly `decimals` digits after the point, e.g. -73.9859967."""
    values = np.asarray(values, dtype=np.float64)
    scaled = np.rint(np.abs(values) * 10**decimals).astype(np.int64)
    whole = int_text(scaled // 10**decimals)
    frac = int_text(scaled % 10**decimals, width=decimals)
    sign = choose_text(["", "-"], (values < 0) & (scaled > 0))
    return join_text(join_text(sign, whole), frac, sep=".")


def with_nulls(array: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(valid, dtype=bool)), array, pa.scalar(None, array.type))


def where(condition: np.ndarray, when_true: pa.Array | str, when_false: pa.Array | str) -> pa.Array:
    """Element-wise choice between two arrays (or string constants)."""
    return pc.if_else(pa.array(np.asarray(condition, dtype=bool)), when_true, when_false)


def arrow_type(sf_type: str) -> pa.DataType:
    """Arrow type written into a column of Snowflake type `sf_type` (the emulation casts on insert)."""
    if sf_type.startswith("VARCHAR"):
        return pa.string()
    if sf_type.startswith("NUMBER"):
        scale = sf_type.rstrip(")").split(",")[1] if "," in sf_type else "0"
        return pa.int64() if scale == "0" else pa.float64()
    if sf_type in ("DOUBLE", "FLOAT"):
        return pa.float64()
    if sf_type == "BOOLEAN":
        return pa.bool_()
    if sf_type.startswith("TIMESTAMP"):
        return TS_TYPE
    raise ValueError(f"no Arrow type for Snowflake type {sf_type}")


def source_table(table: str, columns: Mapping[str, Any], n: int | None = None) -> pa.Table:
    """An Arrow table with exactly the columns of source `table`, in DDL order, typed for the emulation.

    `columns` maps column names to arrays (numpy or Arrow) or Python lists; columns it does not name are
    NULL. A name that is not a column of the table is an error (it would be silently dropped otherwise).
    """
    schema = source_columns(table)
    names = {name for name, _ in schema}
    unknown = set(columns) - names
    if unknown:
        raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
    if n is None:
        n = len(next(iter(columns.values()))) if columns else 0
    arrays = []
    for name, sf_type in schema:
        typ = arrow_type(sf_type)
        value = columns.get(name)
        if value is None:
            arrays.append(pa.nulls(n, typ))
            continue
        array = value if isinstance(value, pa.Array | pa.ChunkedArray) else pa.array(value, type=typ)
        if array.type != typ:
            array = array.cast(typ)
        if len(array) != n:
            raise ValueError(f"{table}.{name} has {len(array)} values, expected {n}")
        arrays.append(array)
    return pa.table(arrays, names=[name for name, _ in schema])


def rows_table(table: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A source-typed table from a few Python rows (planted cases); absent keys are NULL."""
    names = [name for name, _ in source_columns(table)]
    columns = {name: [row.get(name) for row in rows] for name in names if any(name in r for r in rows)}
    return source_table(table, columns, n=len(rows))
