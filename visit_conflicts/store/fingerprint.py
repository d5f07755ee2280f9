"""A compact fingerprint of a pair's written columns, so that unchanged pairs never travel in full.

The nightly regime re-detects mostly unchanged pairs (88-98 %). Comparing them in SQL means sending every
~1.8 KB row to the server; comparing a 64-bit fingerprint means sending 8 bytes next to the key. The
pair writer (`store/detect.py`) computes the fingerprint of each incoming row here, on the client, after
the batch was converted to the CVM column types (`arrow_copy.convert`: values normalised exactly as they
would be stored, the types fixed per column), stores it with the pair
(`conflictvisitmaps."PairFingerprint"`, migration 0030), and probes keys and fingerprints together. The
fingerprint is compared with the one of the row last received, never with stored values.

What the fingerprint promises, and what it does not:

- It is a function of the row alone and of the writer's column list: the same values give the same
  fingerprint in any batch, any process, any run, whichever Arrow width carries them (int32 or int64,
  string or large_string, one chunk or several). A NULL is a NULL whatever its column's type. Values of
  different kinds (a number and a text) never share a fingerprint by construction: each kind has its
  own tag. The version and the column list are mixed in, so a writer with other columns, or a later
  algorithm, never matches an old value (a mismatch only costs the full compare once).
- Equal fingerprints are taken to mean "certainly unchanged". A change of any single value (one column,
  or one 8-byte word of a string) always changes it: every step of the construction is a bijection of
  that value. Several changes at once collide with probability about 2^-64 per changed pair.
- A differing fingerprint decides nothing: the pair goes through the SQL compare of D11, which stays
  the authority (flags only N -> Y, KEEP_WHEN_NULL columns, the metadata-only amendment).

Construction (vectorised with numpy over the Arrow buffers, no per-row Python): each column gives one
64-bit word per row (its value bits for fixed-width types, a hash of the bytes and length for a string
or binary value, the two halves of a 16-byte value mixed into one; XOR a tag of the value's kind; 0 for
NULL), plus words packing the validity bits of all columns. Each word is mixed with the MurmurHash3
finaliser (`fmix64`, a bijection with fmix64(0) = 0) and multiplied by an odd constant of its column
(also a bijection), the products are summed modulo 2^64, and the sum is mixed again with a seed of the
column list. Strings are hashed the same way over their 8-byte words (the last one zero-padded), each
multiplied by a constant of its position (a zero word past the end adds nothing, since fmix64(0) = 0),
with the length added, so neither the batch nor the longest string of the batch can change a row's
value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyarrow as pa

from visit_conflicts.columns import PAIR_FINGERPRINT

FINGERPRINT_COLUMN = PAIR_FINGERPRINT
# Changing the construction changes this, so fingerprints of the old construction never match.
VERSION = 1

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_LENGTH_FACTOR = np.uint64(0x9E3779B97F4A7C15)
# Multipliers of the words inside a string (position-dependent, odd); strings longer than this many
# words reuse them cyclically, which stays a bijection per word.
_STRING_WORDS = 64


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place on a uint64 array: a bijection, fmix64(0) = 0."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@lru_cache(maxsize=64)
def _odd_constants(label: str, count: int) -> np.ndarray:
    """`count` odd 64-bit constants derived from `label` (stable across processes and versions of numpy)."""
    raw = hashlib.shake_256(f"visit-conflicts fingerprint v{VERSION} {label}".encode()).digest(8 * count)
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64) | np.uint64(1)


_STRING_MULTIPLIERS = _odd_constants("string words", _STRING_WORDS)
# _TAIL_MASKS[r]: the low r bytes of a word.
_TAIL_MASKS = np.array([(1 << (8 * r)) - 1 for r in range(9)], dtype=np.uint64)


def _valid(array: pa.Array) -> np.ndarray | None:
    """Validity as a bool array, or None when there is no NULL."""
    if array.null_count == 0:
        return None
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _tag(kind: str) -> np.uint64:
    """The 64-bit tag of a kind of value (XORed into its words)."""
    return np.uint64(int(_odd_constants("kind " + kind, 1)[0]))


def _fixed(array: pa.Array, dtype: str) -> np.ndarray:
    """The raw values of a fixed-width array as a numpy array of `dtype` (slots of NULLs included)."""
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * itemsize)


def _sixteen_bytes(array: pa.Array) -> np.ndarray:
    """One word per 16-byte value (uuid bytes, decimal128): its halves mixed into one, a bijection of
    either half when the other is fixed."""
    n = len(array)
    halves = np.frombuffer(array.buffers()[1], dtype="<u8", count=2 * n, offset=array.offset * 16)
    halves = halves.reshape(n, 2).astype(np.uint64)
    first = _fmix64(halves[:, 0].copy())
    first += halves[:, 1]
    return _fmix64(first)


def _value_words(array: pa.Array) -> tuple[np.ndarray | None, str]:
    """(one uint64 word per value, or None for text and binary, hashed by `_string_words`; the kind of
    value, whose tag is XORed in)."""
    kind = array.type
    if pa.types.is_boolean(kind):
        values = np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        return values.astype(np.uint64), "bool"
    if pa.types.is_integer(kind):
        if kind == pa.uint64():
            return _fixed(array, "<u8").astype(np.uint64), "integer"
        return _fixed(
            array, f"<{'i' if pa.types.is_signed_integer(kind) else 'u'}{kind.bit_width // 8}"
        ).astype(np.int64).view(np.uint64), "integer"
    if pa.types.is_floating(kind):
        return _fixed(array, f"<f{kind.bit_width // 8}").astype(np.float64).view(np.uint64), "float"
    if pa.types.is_decimal(kind) and kind.bit_width == 128:
        return _sixteen_bytes(array), f"decimal {kind.scale}"
    if pa.types.is_fixed_size_binary(kind) and kind.byte_width == 16:
        return _sixteen_bytes(array), "16 bytes"
    if pa.types.is_date32(kind) or pa.types.is_time32(kind):
        return _fixed(array, "<i4").astype(np.int64).view(np.uint64), str(kind)
    if pa.types.is_temporal(kind):  # date64, timestamps, times, durations: int64 in their unit
        return _fixed(array, "<i8").view(np.uint64).astype(np.uint64), str(kind)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return None, "text"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return None, "binary"
    raise ValueError(f"no fingerprint for Arrow type {kind}")


def _string_words(array: pa.Array, valid: np.ndarray | None) -> np.ndarray:
    """One word per value of a text or binary array: the value's 8-byte words, each mixed and multiplied
    by a constant of its position, summed, plus the length, mixed.

    The words are read straight from the Arrow data buffer at each value's byte offset (unaligned 8-byte
    reads, as a rows x longest-value matrix), each masked to the value's bytes (0 past its end).
    """
    n = len(array)
    large = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    offset_type = "<i8" if large else "<i4"
    width = np.dtype(offset_type).itemsize
    offsets = np.frombuffer(array.buffers()[1], dtype=offset_type, count=n + 1, offset=array.offset * width)
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    if valid is not None:
        lengths[~valid] = 0  # Arrow allows a NULL slot to span bytes; they are not its value
    length_term = lengths.astype(np.uint64) * _LENGTH_FACTOR
    most = int((lengths.max() + 7) // 8) if n else 0
    if most == 0:
        return _fmix64(length_term)
    raw = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    data = np.zeros(len(raw) + 8 * most + 8, dtype=np.uint8)
    data[: len(raw)] = raw
    # Element k = the 8 bytes starting at byte k (overlapping, little-endian, unaligned reads).
    unaligned = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, offset=0, strides=(1,))
    at = 8 * np.arange(most, dtype=np.int64)
    words = unaligned[starts[:, None] + at[None, :]].astype(np.uint64)
    words &= _TAIL_MASKS[np.clip(lengths[:, None] - at[None, :], 0, 8)]
    multipliers = np.resize(_STRING_MULTIPLIERS, most)
    per_value = (_fmix64(words) * multipliers[None, :]).sum(axis=1, dtype=np.uint64)
    return _fmix64(per_value + length_term)


def _validity_words(valids: Sequence[np.ndarray | None], n: int) -> np.ndarray:
    """The validity bits of all columns, 64 columns per word (a words x rows matrix)."""
    count = len(valids)
    padded = np.ones((-(-count // 64) * 64, n), dtype=np.uint64)
    for i, valid in enumerate(valids):
        if valid is not None:
            padded[i] = valid
    bits = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
    shaped = padded.reshape(-1, 64, n) * bits[None, :, None]
    return np.bitwise_or.reduce(shaped, axis=1)


def fingerprints(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """The int64 fingerprint of each row of `table` over `columns` (any Arrow types; the pair writer
    passes batches converted to the CVM column types). See the module docstring for what it promises."""
    n = table.num_rows
    matrix = np.zeros((len(columns), n), dtype=np.uint64)
    valids: list[np.ndarray | None] = []
    for i, name in enumerate(columns):
        column = table.column(name)
        array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_null(array.type) or array.null_count == n:
            valids.append(np.zeros(n, dtype=bool))
            continue  # every value NULL: words 0
        valid = _valid(array)
        valids.append(valid)
        words, kind = _value_words(array)
        if words is None:
            words = _string_words(array, valid)
        words ^= _tag(kind)
        if valid is not None:
            words[~valid] = 0
        matrix[i] = words
    matrix = np.vstack([matrix, _validity_words(valids, n)])
    labels = [*columns, *(f"validity#{i}" for i in range(len(matrix) - len(columns)))]
    multipliers = _odd_constants("columns " + "\x1f".join(labels), len(labels))
    # One (words x rows) matrix: the mixing runs as a few whole-matrix operations, not one per column.
    mixed = _fmix64(matrix) * multipliers[:, None]
    total = mixed.sum(axis=0, dtype=np.uint64)
    total += _odd_constants("column list " + "\x1f".join(columns), 1)[0]
    return pa.array(_fmix64(total).view(np.int64), type=pa.int64())


def signed64(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """An unsigned 64-bit column (the emulation's hash) as the same 64 bits signed, as Snowflake's HASH
    and the `PairFingerprint` column (bigint) hold them."""
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([c.view(pa.int64()) for c in column.chunks], pa.int64())
    return column.view(pa.int64())
