"""What the Snowflake side of plan, detect and inservice share: the scope of a query, its bound
parameters, the reference data loaded into session tables, the rows of a scope's groups, and result
streaming.

Every run parameter is a bound literal computed once by the caller (D1); nothing reads the clock. The
statements live in `sql/snowflake/common/` and run unchanged on Snowflake and on the emulation. Chunks
are `chunk_of(ssn, chunks)`, computed identically here and in SQL (`common/chunk_of_digest.sql`).

The source rows of a set of groups (`create_scope_rows`) are found with cheap predicates only, before
any regular expression or time-zone conversion runs: the raw "Visit Date" inside a few bound ranges
(the source is clustered by visit date, so the engine skips other dates' partitions), an equi-join on
the raw "Caregiver Id" and a comparison of the raw "Visit Date" with the instants that start and end
each business day (`VC_WINDOW_DAY`, computed here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from visit_conflicts.columns import PAIR_FINGERPRINT
from visit_conflicts.columns import SOURCE_FINGERPRINT_LABEL as FINGERPRINT_LABEL
from visit_conflicts.sql_files import APP_ID_PATTERN, DECIMAL_PATTERN, UUID_PATTERN, read_sql

if TYPE_CHECKING:
    from visit_conflicts.config import Params
    from visit_conflicts.context import RunContext
    from visit_conflicts.store.reference import ReferenceData

# Values per INSERT when loading the exclusion lists (keeps each statement far below Snowflake's
# statement-size limit even at ten times today's ~7K excluded SSNs).
_LOAD_BATCH = 5000

_COMMON_SQL = "snowflake/common/{}.sql"
# Raw "Visit Date" ranges bound by the statements that find a scope's rows (common/visit_date_ranges.sql
# has this many slots): enough to skip most of the window's partitions when a scope's days come in a few
# runs (a nightly delta is mostly recent days plus a few stragglers), few enough for a short statement.
DATE_RANGES = 8
# Groups per INSERT when loading a scope's groups (about 30 bytes each as JSON: far below Snowflake's
# statement-size limit).
GROUP_LOAD_BATCH = 5000


class SourceQueryError(RuntimeError):
    """A source query cannot run as configured; the message says what to fix."""


@dataclass(frozen=True)
class SourceScope:
    """What one source query covers: the run's window and cutoff (D1, D2) and one chunk.

    `chunk` None means every chunk (the whole delta scope); otherwise 0 <= chunk < chunks.
    `time_zone` is the business time zone (D1): the source's TIMESTAMP_TZ values are read as wall-clock
    times there, and "Visit Date" is the date there (legacy: the New York offset stored with them).
    """

    window_start: date
    window_end: date
    cutoff: datetime
    chunk: int | None
    chunks: int
    time_zone: str = "America/New_York"

    def __post_init__(self) -> None:
        if self.window_start > self.window_end:
            raise SourceQueryError(
                f"window start {self.window_start} is after window end {self.window_end}; "
                "check lookback_years / lookforward_days"
            )
        if self.cutoff.tzinfo is None or self.cutoff.utcoffset() is None:
            raise SourceQueryError(f"cutoff {self.cutoff!r} has no time zone; pass an aware datetime")
        if self.chunks < 1:
            raise SourceQueryError(f"chunks must be >= 1, got {self.chunks}")
        if self.chunk is not None and not 0 <= self.chunk < self.chunks:
            raise SourceQueryError(f"chunk {self.chunk} is outside 0..{self.chunks - 1}")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SourceQueryError(
                f"time zone {self.time_zone!r} is unknown; use an IANA name such as America/New_York"
            ) from exc

    @classmethod
    def of(
        cls, ctx: RunContext, params: Params, chunk: int | None, *, chunks: int | None = None
    ) -> SourceScope:
        """The scope of one chunk (None: all chunks) of a run split into `chunks` (default: the fixed
        `chunks` parameter; plan's decided count when plan decides, see store.plan.chunk_plan)."""
        return cls(
            window_start=ctx.window_start,
            window_end=ctx.window_end,
            cutoff=ctx.cutoff,
            chunk=chunk,
            chunks=chunks or params.chunks or 1,
            time_zone=params.business_timezone,
        )


# The hash a chunk is taken from has four hex digits: with this many "chunks", a group's chunk is the
# hash itself (its bucket), and its chunk among N chunks is bucket % N (plan records buckets first when
# it decides N from the delta's size).
HASH_BUCKETS = 16**4


def chunk_of(ssn: str, chunks: int) -> int:
    """The chunk of a (trimmed) SSN: first four hex digits of its MD5, modulo `chunks`.

    The Python twin of `sql/snowflake/common/chunk_of_digest.sql`.
    """
    return int(hashlib.md5(ssn.encode()).hexdigest()[:4], 16) % chunks


def run_params(scope: SourceScope) -> dict[str, Any]:
    """Bound parameters shared by the scope statements (D1: literals, computed once by the caller)."""
    cutoff = scope.cutoff.astimezone(UTC)
    return {
        "window_start": scope.window_start.isoformat(),
        "window_end": scope.window_end.isoformat(),
        "cutoff": timestamp_tz_text(cutoff),
        # The raw "Visit Date" range that lets Snowflake prune before the business date decides: UTC
        # midnights one day outside the window. Every zone is within 14 hours of UTC, so the range holds
        # the whole window in any business zone; as instants with an offset they need no session zone.
        "visit_date_floor": timestamp_tz_text(_utc_midnight(scope.window_start - timedelta(days=1))),
        "visit_date_ceiling": timestamp_tz_text(_utc_midnight(scope.window_end + timedelta(days=2))),
        "chunk": scope.chunk,
        "chunks": scope.chunks,
        "time_zone": scope.time_zone,
        "uuid_pattern": UUID_PATTERN,
        "app_id_pattern": APP_ID_PATTERN,
        "decimal_pattern": DECIMAL_PATTERN,
        # Without the scope's days: one range over the whole window (see scope_row_params).
        **date_range_params(
            scope,
            [
                (
                    _utc_midnight(scope.window_start - timedelta(days=1)),
                    _utc_midnight(scope.window_end + timedelta(days=2)),
                )
            ],
        ),
    }


def business_day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """The instants at which `day` starts and ends in the business time zone (D1): a TIMESTAMP_TZ value
    falls on `day` there exactly when start <= value < end."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def visit_date_ranges(
    days: Iterable[date], time_zone: str, limit: int = DATE_RANGES
) -> list[tuple[datetime, datetime]]:
    """At most `limit` disjoint ranges of instants that hold every business day of `days`: runs of
    consecutive days, the runs with the shortest gaps between them merged until `limit` remain."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][1]).days <= 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    while len(runs) > limit:
        gaps = [(runs[i + 1][0] - runs[i][1], i) for i in range(len(runs) - 1)]
        _, i = min(gaps)
        runs[i : i + 2] = [[runs[i][0], runs[i + 1][1]]]
    return [
        (business_day_bounds(first, time_zone)[0], business_day_bounds(last, time_zone)[1])
        for first, last in runs
    ]


def date_range_params(scope: SourceScope, ranges: Sequence[tuple[datetime, datetime]]) -> dict[str, str]:
    """The bound ranges of common/visit_date_ranges.sql: `ranges`, then empty ranges in unused slots."""
    if len(ranges) > DATE_RANGES:
        raise SourceQueryError(f"{len(ranges)} visit date ranges; the statements bind at most {DATE_RANGES}")
    empty = _utc_midnight(scope.window_start)
    slots = [*ranges, *[(empty, empty)] * (DATE_RANGES - len(ranges))]
    params = {}
    for i, (start, end) in enumerate(slots):
        params[f"date_range_start_{i}"] = timestamp_tz_text(start)
        params[f"date_range_end_{i}"] = timestamp_tz_text(end)
    return params


def scope_row_params(scope: SourceScope, days: Iterable[date]) -> dict[str, Any]:
    """run_params with the raw "Visit Date" ranges narrowed to the business days `days`."""
    return {**run_params(scope), **date_range_params(scope, visit_date_ranges(days, scope.time_zone))}


def load_window_days(cur: Any, scope: SourceScope) -> None:
    """VC_WINDOW_DAY: every business day of the window with the instants that start and end it."""
    rows = []
    day = scope.window_start
    while day <= scope.window_end:
        start, end = business_day_bounds(day, scope.time_zone)
        rows.append([day.isoformat(), timestamp_tz_text(start), timestamp_tz_text(end)])
        day += timedelta(days=1)
    cur.execute(read_sql(_COMMON_SQL.format("create_window_day")))
    cur.execute(read_sql(_COMMON_SQL.format("insert_window_day")), {"values": json.dumps(rows)})


def create_scope_rows(cur: Any, scope: SourceScope, days: Iterable[date]) -> None:
    """(Re)build VC_SCOPE_CAREGIVER and VC_SCOPE_ROW: the caregivers and every source visit row of the
    session's groups (VC_DELTA_GROUP, whose business days are `days`), found with cheap predicates."""
    params = scope_row_params(scope, days)
    load_window_days(cur, scope)
    cur.execute(read_sql(_COMMON_SQL.format("create_scope_caregiver")), params)
    cur.execute(read_sql(_COMMON_SQL.format("create_scope_row")), params)


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def timestamp_tz_text(instant: datetime) -> str:
    """An instant as TIMESTAMP_TZ text with an explicit UTC offset: parsed the same way by Snowflake and
    by the emulation, and independent of the session time zone."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00"


def check_paramstyle(sf_conn: Any) -> None:
    """The statements bind %(name)s parameters client-side: refuse any other paramstyle with the fix."""
    paramstyle = getattr(sf_conn, "_paramstyle", "pyformat")
    if paramstyle not in ("pyformat", "format"):
        raise SourceQueryError(
            f"the Snowflake connection uses paramstyle {paramstyle!r}; the source SQL binds "
            "%(name)s parameters: connect with the default paramstyle 'pyformat'"
        )


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise SourceQueryError(f"batch_size must be >= 1, got {batch_size}")


def mph_band_rows(bands: Sequence[tuple[float, float, float]]) -> list[dict[str, Any]]:
    """Rank the bands by (From, To, mph); the last in that order also covers longer distances (D7)."""
    ordered = sorted(bands)
    return [
        {"band_rank": i, "lo": lo, "hi": hi, "mph": mph, "is_last": i == len(ordered) - 1}
        for i, (lo, hi, mph) in enumerate(ordered)
    ]


def load_exclusions(cur: Any, ref: ReferenceData) -> None:
    """The excluded SSNs (trimmed) and providers (lower-case) as session tables."""
    load_list(cur, "excluded_ssn", [s.strip() for s in ref.excluded_ssns if s and s.strip()])
    load_list(cur, "excluded_provider", [p.lower() for p in ref.excluded_provider_ids if p])


def load_reference_data(cur: Any, ref: ReferenceData) -> None:
    """Every reference table as a session table: exclusions, MPH bands and the distance setting (D7)."""
    load_exclusions(cur, ref)
    cur.execute(read_sql(_COMMON_SQL.format("create_mph_band")))
    for band in mph_band_rows(ref.mph_bands):
        cur.execute(read_sql(_COMMON_SQL.format("insert_mph_band")), band)
    cur.execute(read_sql(_COMMON_SQL.format("create_distance_setting")))
    cur.execute(
        read_sql(_COMMON_SQL.format("insert_distance_setting")),
        {"extra_distance_per": float(ref.extra_distance_per)},
    )


def load_list(cur: Any, table: str, values: list[str]) -> None:
    cur.execute(read_sql(_COMMON_SQL.format(f"create_{table}")))
    insert = read_sql(_COMMON_SQL.format(f"insert_{table}"))
    unique = sorted(set(values))
    for start in range(0, len(unique), _LOAD_BATCH):
        cur.execute(insert, {"values": json.dumps(unique[start : start + _LOAD_BATCH])})


def stream_rows(cur: Any, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Arrow batches when the connector offers them (real Snowflake), else fetchmany (emulation)."""
    fetch_arrow = getattr(cur, "fetch_arrow_batches", None)
    if fetch_arrow is not None:
        try:
            tables = iter(_call_fetch_arrow(fetch_arrow))
            first = next(tables, None)
        except Exception as exc:  # the connector refuses arrow for JSON result sets
            if type(exc).__name__ != "NotSupportedError":
                raise
        else:
            if first is not None:
                yield from rebatch((arrow_rows(t) for t in _chain_first(first, tables)), batch_size)
            return
    while rows := cur.fetchmany(batch_size):
        yield [tuple(r) for r in rows]


def stream_tables(cur: Any, batch_size: int, schema: Any) -> Iterator[Any]:
    """The result of the query just executed on `cur`, as Arrow tables of at most `batch_size` rows with
    exactly `schema` (`pair_arrow_schema`). Both the connector and the emulation hand out result batches
    that convert to Arrow without per-value Python work; every batch is cast to `schema` before batches
    are joined, so result chunks of different integer widths or timestamp units always join. Memory
    stays bounded by one result batch plus one output batch."""
    import pyarrow as pa

    batches = cur.get_result_batches()
    if batches is None:  # pragma: no cover - a connector without result batches
        yield from stream_rows(cur, batch_size)
        return
    pending: list[Any] = []
    pending_rows = 0
    for batch in batches:
        # Microseconds always (the default is ns or us per result chunk; PostgreSQL keeps us).
        table = conform_table(batch.to_arrow(force_microsecond_precision=True), schema)
        if table.num_rows == 0:
            continue
        pending.append(table)
        pending_rows += table.num_rows
        while pending_rows >= batch_size:
            merged = pa.concat_tables(pending)
            yield merged.slice(0, batch_size)
            rest = merged.slice(batch_size)
            pending, pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
    if pending_rows:
        yield pa.concat_tables(pending)


def _call_fetch_arrow(fetch_arrow: Any) -> Iterable[Any]:
    try:
        return fetch_arrow(force_microsecond_precision=True)
    except TypeError:  # older connectors have no such argument
        return fetch_arrow()


def _chain_first(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def arrow_rows(table: Any) -> list[tuple[Any, ...]]:
    """Rows of an Arrow table as tuples; decimals become ints (scale 0) or floats."""
    import pyarrow as pa

    columns = []
    for column in table.columns:
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.int64() if column.type.scale == 0 else pa.float64())
        columns.append(column.to_pylist())
    return list(zip(*columns, strict=True)) if columns else []


def rebatch(row_lists: Iterable[list[tuple[Any, ...]]], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Regroup the server's result chunks into batches of exactly `batch_size` (the last may be short)."""
    pending: list[tuple[Any, ...]] = []
    for rows in row_lists:
        pending.extend(rows)
        while len(pending) >= batch_size:
            yield pending[:batch_size]
            pending = pending[batch_size:]
    if pending:
        yield pending


# The Arrow type each pair column travels in from the source, by its conflictvisitmaps type; the writer
# converts to the exact column type afterwards (store/arrow_copy.py). int2/int4 travel as float64: every
# value of theirs is exact in a double, and the SQL may send a fraction that the writer rounds as
# PostgreSQL's assignment would (ETATravelMinutes is rounded to 2 decimals).
_PAIR_WIRE_TYPES: dict[str, str] = {
    "uuid": "string",
    "varchar": "string",
    "bpchar": "string",
    "text": "string",
    "int2": "float64",
    "int4": "float64",
    "int8": "int64",
    "float4": "float64",
    "float8": "float64",
    "bool": "bool",
    "date": "date32",
    "timestamp": "timestamp_us",
    "timestamptz": "timestamp_us_utc",
}


def pair_arrow_schema(cvm_types: Mapping[str, str], *, fingerprint: bool = False) -> Any:
    """The one Arrow schema every batch of a pair stream is cast to before batches are joined: the
    pair columns (in the order of `cvm_types`, column -> conflictvisitmaps type name) with a fixed type
    each. The real connector does not give one schema per result: it sizes NUMBER(38,0) columns per
    result chunk (int8 .. int64, or decimal) and, without force_microsecond_precision, picks ns or us
    timestamps per chunk; `pa.concat_tables` refuses tables whose schemas differ.

    With `fingerprint`, a last int64 column `PairFingerprint`: the stream's query then computes the
    fingerprint of each pair next to the data (`with_fingerprint`)."""
    import pyarrow as pa

    arrow = {
        "string": pa.string(),
        "float64": pa.float64(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "date32": pa.date32(),
        "timestamp_us": pa.timestamp("us"),
        "timestamp_us_utc": pa.timestamp("us", tz="UTC"),
    }
    fields = []
    for column, pg_type in cvm_types.items():
        wire = _PAIR_WIRE_TYPES.get(pg_type)
        if wire is None:
            raise SourceQueryError(
                f"pair column {column}: conflictvisitmaps type {pg_type} has no source type; "
                "add it to source/common.py _PAIR_WIRE_TYPES"
            )
        fields.append(pa.field(column, arrow[wire]))
    if fingerprint:
        fields.append(pa.field(PAIR_FINGERPRINT, pa.int64()))
    return pa.schema(fields)


def pair_query(query: str, schema: Any) -> str:
    """The pair query for a stream of `schema`: with the fingerprint when the schema's last column is
    `PairFingerprint` (`pair_arrow_schema(..., fingerprint=True)`), else as it is."""
    names = list(schema.names)
    if names and names[-1] == PAIR_FINGERPRINT:
        return with_fingerprint(query, names[:-1])
    return query


def with_fingerprint(query: str, columns: Sequence[str]) -> str:
    """`query` (whose result has `columns`, in order) with a last column `PairFingerprint`: Snowflake's
    HASH of the label of this construction with a digest of the column list, and of every column,
    computed where the pairs are produced, so the writer can tell an unchanged pair by 8 bytes without
    converting, hashing or sending its ~1.8 KB row (store/detect.py). HASH is order-sensitive and
    NULL-aware; the emulation's DuckDB `hash` too (it returns an unsigned 64-bit value, read back as the
    same 64 bits signed, `conform_table`). A change of the label, of the column list or of the engine
    only changes every fingerprint once: the writer then compares those pairs in full and records the
    new value."""
    hashed = ", ".join(f'p."{c}"' for c in columns)
    # The column list is mixed in through a digest of its names (a constant of the statement), as the
    # client's construction mixes it in: another list never matches an old value.
    listed = hashlib.sha256("\x1f".join(columns).encode()).hexdigest()[:16]
    return (
        f"SELECT p.*, HASH('{FINGERPRINT_LABEL} {listed}', {hashed}) AS \"{PAIR_FINGERPRINT}\"\n"
        f"FROM (\n{query.rstrip().rstrip(';')}\n) p"
    )


def conform_table(table: Any, schema: Any) -> Any:
    """`table` cast to `schema` (same column names, in order): integers widened, decimals to int64
    (scale 0) or float64, timestamps to microseconds (dropping sub-microsecond digits, as the
    connector's force_microsecond_precision does), all-NULL columns typed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.column_names != schema.names:
        differ = sorted(set(table.column_names) ^ set(schema.names))
        raise SourceQueryError(
            f"the pair query returned columns that differ from the pair columns: {differ or 'order'}; "
            "check sql/snowflake/common/pair_columns.sql and the session's QUOTED_IDENTIFIERS_IGNORE_CASE"
        )
    if table.schema.equals(schema):
        return table
    arrays = []
    for field, column in zip(schema, table.columns, strict=True):
        if column.type == field.type:
            arrays.append(column)
        elif field.name == PAIR_FINGERPRINT and pa.types.is_uint64(column.type):
            from visit_conflicts.store.fingerprint import signed64

            # The emulation's hash is unsigned: the same 64 bits, read as Snowflake's signed HASH.
            arrays.append(signed64(column))
        elif pa.types.is_null(column.type):
            arrays.append(pa.nulls(len(column), field.type))
        else:
            lossy = pa.types.is_timestamp(column.type) and pa.types.is_timestamp(field.type)
            arrays.append(pc.cast(column, field.type, safe=not lossy))
    return pa.Table.from_arrays(arrays, schema=schema)


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
