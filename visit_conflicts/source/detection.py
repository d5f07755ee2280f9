"""Conflict detection on the Snowflake side, for one chunk of the run's delta scope.

Snowflake (or its emulation) does the relational work next to the data, so only conflict pairs leave
it (ARCHITECTURE "Data flow inside a detect chunk"):

1. reference data from PostgreSQL (`load_reference_data`) goes into session temp tables;
2. the chunk's delta groups, (visit date, trimmed SSN) with a visit updated since the cutoff, go into
   the temp table `VC_DELTA_GROUP` (`iter_delta_groups` streams them, for stale-cleanup scoping);
3. one query reads the base visits of those groups with their dimension rows, pairs every two visits
   of a group at different providers in both orientations (D4), evaluates rules 1-7 (D5-D7), keeps
   pairs with a 'Y' flag that pass the cross-state filter, one row per pair key (D8) -> `iter_pairs`;
4. `count_skipped_rows` counts the unusable source rows of the chunk's scope per reason (D23).

The statements live in `sql/snowflake/detect/`, one per file, and run unchanged on Snowflake and on
the emulation. Every run parameter is a bound literal (D1); nothing reads the clock. Chunks are
`chunk_of(ssn, chunks)`, computed identically in SQL (see `create_delta_group.sql`) and in Python.

Each public function (re)builds the session tables it needs on the connection it is given, so they
can be called in any order; temp tables are private to the connection (one connection per thread).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from visit_conflicts.paths import read_sql

# Output columns of `iter_pairs`, in order: the conflictvisitmaps columns written by detection
# (legacy/detection.md section 5, without CONFLICTID, which the PostgreSQL side assigns).
PAIR_COLUMNS: tuple[str, ...] = (
    "SSN",
    "ProviderID", "AppProviderID", "ProviderName", "VisitID", "AppVisitID",
    "ConProviderID", "ConAppProviderID", "ConProviderName", "ConVisitID", "ConAppVisitID",
    "VisitDate",
    "SchStartTime", "SchEndTime", "ConSchStartTime", "ConSchEndTime",
    "VisitStartTime", "VisitEndTime", "ConVisitStartTime", "ConVisitEndTime",
    "EVVStartTime", "EVVEndTime", "ConEVVStartTime", "ConEVVEndTime",
    "CaregiverID", "AppCaregiverID", "AideCode", "AideName", "AideFName", "AideLName", "AideSSN",
    "AideStatus",
    "ConCaregiverID", "ConAppCaregiverID", "ConAideCode", "ConAideName", "ConAideFName",
    "ConAideLName", "ConAideSSN", "ConAideStatus",
    "OfficeID", "AppOfficeID", "Office", "ConOfficeID", "ConAppOfficeID", "ConOffice",
    "PatientID", "AppPatientID", "PAdmissionID", "PName", "PFName", "PLName", "PMedicaidNumber",
    "PStatus", "PAddressID", "PAppAddressID", "PAddressL1", "PAddressL2", "PCity", "PAddressState",
    "PZipCode", "PCounty", "PLongitude", "PLatitude",
    "ConPatientID", "ConAppPatientID", "ConPAdmissionID", "ConPName", "ConPFName", "ConPLName",
    "ConPMedicaidNumber", "ConPStatus", "ConPAddressID", "ConPAppAddressID", "ConPAddressL1",
    "ConPAddressL2", "ConPCity", "ConPAddressState", "ConPZipCode", "ConPCounty", "ConPLongitude",
    "ConPLatitude",
    "PayerID", "AppPayerID", "Contract", "PayerState",
    "ConPayerID", "ConAppPayerID", "ConContract", "ConPayerState",
    "BilledDate", "ConBilledDate", "BilledHours", "ConBilledHours", "Billed", "ConBilled",
    "BilledRate", "TotalBilledAmount", "BillRateNonBilled", "BillRateBoth",
    "ConBilledRate", "ConTotalBilledAmount", "ConBillRateNonBilled", "ConBillRateBoth",
    "MinuteDiffBetweenSch", "DistanceMilesFromLatLng", "AverageMilesPerHour", "ETATravelMinutes",
    "ServiceCodeID", "AppServiceCodeID", "RateType", "ServiceCode",
    "ConServiceCodeID", "ConAppServiceCodeID", "ConRateType", "ConServiceCode",
    "SameSchTimeFlag", "SameVisitTimeFlag", "SchAndVisitTimeSameFlag", "SchOverAnotherSchTimeFlag",
    "VisitTimeOverAnotherVisitTimeFlag", "SchTimeOverVisitTimeFlag", "DistanceFlag",
    "IsMissed", "MissedVisitReason", "EVVType", "ConIsMissed", "ConMissedVisitReason", "ConEVVType",
    "AgencyContact", "ConAgencyContact", "AgencyPhone", "ConAgencyPhone",
    "LastUpdatedBy", "ConLastUpdatedBy", "LastUpdatedDate", "ConLastUpdatedDate",
    "ContractType", "ConContractType", "FederalTaxNumber", "ConFederalTaxNumber",
    "P_PatientID", "P_AppPatientID", "P_PAdmissionID", "P_PName", "P_PFName", "P_PLName",
    "P_PMedicaidNumber", "P_PStatus", "P_PAddressID", "P_PAppAddressID", "P_PAddressL1",
    "P_PAddressL2", "P_PCity", "P_PAddressState", "P_PZipCode", "P_PCounty",
    "ConP_PatientID", "ConP_AppPatientID", "ConP_PAdmissionID", "ConP_PName", "ConP_PFName",
    "ConP_PLName", "ConP_PMedicaidNumber", "ConP_PStatus", "ConP_PAddressID", "ConP_PAppAddressID",
    "ConP_PAddressL1", "ConP_PAddressL2", "ConP_PCity", "ConP_PAddressState", "ConP_PZipCode",
    "ConP_PCounty",
    "PA_PatientID", "PA_AppPatientID", "PA_PAdmissionID", "PA_PName", "PA_PFName", "PA_PLName",
    "PA_PMedicaidNumber", "PA_PStatus", "PA_PAddressID", "PA_PAppAddressID", "PA_PAddressL1",
    "PA_PAddressL2", "PA_PCity", "PA_PAddressState", "PA_PZipCode", "PA_PCounty",
    "ConPA_PatientID", "ConPA_AppPatientID", "ConPA_PAdmissionID", "ConPA_PName", "ConPA_PFName",
    "ConPA_PLName", "ConPA_PMedicaidNumber", "ConPA_PStatus", "ConPA_PAddressID",
    "ConPA_PAppAddressID", "ConPA_PAddressL1", "ConPA_PAddressL2", "ConPA_PCity",
    "ConPA_PAddressState", "ConPA_PZipCode", "ConPA_PCounty",
)  # fmt: skip


# D23 reasons, in the order a row is classified (each skipped row counts once).
SKIP_REASONS: tuple[str, ...] = (
    "invalid_visit_id",
    "invalid_provider_id",
    "end_before_start",
    "outside_window",
    "blank_ssn",
)

# D7: the multiplier when settings has no row "ID" = 0 or its ExtraDistancePer is NULL.
DEFAULT_EXTRA_DISTANCE_PER = 1.0

# Values per INSERT when loading the exclusion lists (keeps each statement far below Snowflake's
# statement-size limit even at ten times today's ~7K excluded SSNs).
_LOAD_BATCH = 5000

_DETECT_SQL = "snowflake/detect/{}.sql"
_REFERENCE_SQL = "postgres/reference/{}.sql"


class DetectionError(RuntimeError):
    """Detection cannot run as configured; the message says what to fix."""


@dataclass(frozen=True)
class DetectionScope:
    """What one detection call covers: the run's window and cutoff (D1, D2) and one chunk.

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
            raise DetectionError(
                f"window start {self.window_start} is after window end {self.window_end}; "
                "check lookback_years / lookforward_days"
            )
        if self.cutoff.tzinfo is None or self.cutoff.utcoffset() is None:
            raise DetectionError(f"cutoff {self.cutoff!r} has no time zone; pass an aware datetime")
        if self.chunks < 1:
            raise DetectionError(f"chunks must be >= 1, got {self.chunks}")
        if self.chunk is not None and not 0 <= self.chunk < self.chunks:
            raise DetectionError(f"chunk {self.chunk} is outside 0..{self.chunks - 1}")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DetectionError(
                f"time zone {self.time_zone!r} is unknown; use an IANA name such as America/New_York"
            ) from exc


@dataclass(frozen=True)
class ReferenceData:
    """Reference tables read from PostgreSQL once per run.

    `mph_bands` holds (From, To, AverageMilesPerHour) rows; D7 semantics are applied by detection.
    """

    excluded_ssns: tuple[str, ...]
    excluded_provider_ids: tuple[str, ...]
    mph_bands: tuple[tuple[float, float, float], ...]
    extra_distance_per: float


def load_reference_data(pg_conn: Any) -> ReferenceData:
    """Read settings, mph, excluded_ssn and excluded_agency from the target schema (search_path).

    A missing settings row or NULL "ExtraDistancePer" means 1.0 (D7). As in legacy, a NULL band edge
    reads as 0 and a NULL speed as 1. SSNs are trimmed; provider ids are lower-case uuid text.
    """
    row = pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_extra_distance_per"))).fetchone()
    extra = DEFAULT_EXTRA_DISTANCE_PER if row is None or row[0] is None else float(row[0])
    bands = tuple(
        (
            float(lo) if lo is not None else 0.0,
            float(hi) if hi is not None else 0.0,
            float(mph) if mph is not None else 1.0,
        )
        for lo, hi, mph in pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_mph_bands")))
    )
    ssns = tuple(str(r[0]) for r in pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_excluded_ssns"))))
    providers = tuple(
        str(r[0]).lower()
        for r in pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_excluded_provider_ids")))
    )
    return ReferenceData(
        excluded_ssns=ssns,
        excluded_provider_ids=providers,
        mph_bands=bands,
        extra_distance_per=extra,
    )


def chunk_of(ssn: str, chunks: int) -> int:
    """The chunk of a (trimmed) SSN: first four hex digits of its MD5, modulo `chunks`.

    The Python twin of the expression in `create_delta_group.sql` and `count_skipped_rows.sql`.
    """
    return int(hashlib.md5(ssn.encode()).hexdigest()[:4], 16) % chunks


def iter_delta_groups(
    sf_conn: Any, scope: DetectionScope, ref: ReferenceData, batch_size: int
) -> Iterator[list[tuple[date, str, int]]]:
    """Stream the scope's delta groups as batches of (visit_date, ssn, chunk)."""
    _check_batch_size(batch_size)
    _prepare(sf_conn, scope, ref)
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(_DETECT_SQL.format("select_delta_groups")))
        while rows := cur.fetchmany(batch_size):
            yield [(_as_date(d), str(s), int(c)) for d, s, c in rows]
    finally:
        cur.close()


def iter_pairs(
    sf_conn: Any, scope: DetectionScope, ref: ReferenceData, batch_size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """Stream the scope's conflict pairs as batches of tuples in `PAIR_COLUMNS` order.

    Values are plain Python objects: uuids as lower-case text, naive wall-clock datetimes, dates,
    floats, ints, bools and 'Y'/'N' flags. Each ordered pair key appears once (D8).
    """
    _check_batch_size(batch_size)
    _prepare(sf_conn, scope, ref)
    cur = sf_conn.cursor()
    try:
        # The column order is PAIR_COLUMNS by construction (checked by tests/unit/test_detection_sql.py).
        cur.execute(read_sql(_DETECT_SQL.format("select_conflict_pairs")), run_params(scope))
        yield from stream_rows(cur, batch_size)
    finally:
        cur.close()


def iter_pair_tables(
    sf_conn: Any, scope: DetectionScope, ref: ReferenceData, batch_size: int
) -> Iterator[Any]:
    """The same pairs as `iter_pairs`, as Arrow tables of at most `batch_size` rows (columns named as
    PAIR_COLUMNS). Both the connector and the emulation hand out result batches that convert to Arrow
    without per-value Python work; the writer encodes them for COPY in bulk. Memory stays bounded by
    one result batch plus one output batch."""
    import pyarrow as pa

    _check_batch_size(batch_size)
    _prepare(sf_conn, scope, ref)
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(_DETECT_SQL.format("select_conflict_pairs")), run_params(scope))
        batches = cur.get_result_batches()
        if batches is None:  # pragma: no cover - a connector without result batches
            yield from stream_rows(cur, batch_size)
            return
        pending: list[Any] = []
        pending_rows = 0
        for batch in batches:
            table = batch.to_arrow()
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
    finally:
        cur.close()


def count_skipped_rows(
    sf_conn: Any, scope: DetectionScope, ref: ReferenceData, *, session_ready: bool = False
) -> dict[str, int]:
    """Unusable source rows of the scope per reason (D23); every reason of SKIP_REASONS is present.

    `session_ready`: the caller has just read this scope's pairs with the same reference data on this
    connection, so its session tables (reference data, delta groups) are current and are not rebuilt.
    """
    if not session_ready:
        _prepare(sf_conn, scope, ref)
    counts = dict.fromkeys(SKIP_REASONS, 0)
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(_DETECT_SQL.format("count_skipped_rows")), run_params(scope))
        for reason, n in cur.fetchall():
            counts[str(reason)] = int(n)
    finally:
        cur.close()
    return counts


# -- building blocks (also used by the InService source queries) ------------------------------------


def run_params(scope: DetectionScope) -> dict[str, Any]:
    """Bound parameters shared by the scope statements (D1: literals, computed once by the caller)."""
    cutoff = scope.cutoff.astimezone(UTC)
    return {
        "window_start": scope.window_start.isoformat(),
        "window_end": scope.window_end.isoformat(),
        # ISO text with an explicit offset: parsed the same way by Snowflake and DuckDB.
        "cutoff": cutoff.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00",
        "chunk": scope.chunk,
        "chunks": scope.chunks,
        "time_zone": scope.time_zone,
    }


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise DetectionError(f"batch_size must be >= 1, got {batch_size}")


def _mph_band_rows(bands: Sequence[tuple[float, float, float]]) -> list[dict[str, Any]]:
    """Rank the bands by (From, To, mph); the last in that order also covers longer distances (D7)."""
    ordered = sorted(bands)
    return [
        {"band_rank": i, "lo": lo, "hi": hi, "mph": mph, "is_last": i == len(ordered) - 1}
        for i, (lo, hi, mph) in enumerate(ordered)
    ]


def _prepare(sf_conn: Any, scope: DetectionScope, ref: ReferenceData) -> None:
    """(Re)build the session tables: reference data, then the scope's delta groups."""
    paramstyle = getattr(sf_conn, "_paramstyle", "pyformat")
    if paramstyle not in ("pyformat", "format"):
        raise DetectionError(
            f"the Snowflake connection uses paramstyle {paramstyle!r}; detection SQL binds "
            "%(name)s parameters: connect with the default paramstyle 'pyformat'"
        )
    cur = sf_conn.cursor()
    try:
        load_list(cur, "excluded_ssn", [s.strip() for s in ref.excluded_ssns if s and s.strip()])
        load_list(cur, "excluded_provider", [p.lower() for p in ref.excluded_provider_ids if p])
        cur.execute(read_sql(_DETECT_SQL.format("create_mph_band")))
        for band in _mph_band_rows(ref.mph_bands):
            cur.execute(read_sql(_DETECT_SQL.format("insert_mph_band")), band)
        cur.execute(read_sql(_DETECT_SQL.format("create_distance_setting")))
        cur.execute(
            read_sql(_DETECT_SQL.format("insert_distance_setting")),
            {"extra_distance_per": float(ref.extra_distance_per)},
        )
        cur.execute(read_sql(_DETECT_SQL.format("create_delta_group")), run_params(scope))
    finally:
        cur.close()


def load_list(cur: Any, table: str, values: list[str]) -> None:
    cur.execute(read_sql(_DETECT_SQL.format(f"create_{table}")))
    insert = read_sql(_DETECT_SQL.format(f"insert_{table}"))
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
                yield from _rebatch((_arrow_rows(t) for t in _chain_first(first, tables)), batch_size)
            return
    while rows := cur.fetchmany(batch_size):
        yield [tuple(r) for r in rows]


def _call_fetch_arrow(fetch_arrow: Any) -> Iterable[Any]:
    try:
        return fetch_arrow(force_microsecond_precision=True)
    except TypeError:  # older connectors have no such argument
        return fetch_arrow()


def _chain_first(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _arrow_rows(table: Any) -> list[tuple[Any, ...]]:
    """Rows of an Arrow table as tuples; decimals become ints (scale 0) or floats."""
    import pyarrow as pa

    columns = []
    for column in table.columns:
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.int64() if column.type.scale == 0 else pa.float64())
        columns.append(column.to_pylist())
    return list(zip(*columns, strict=True)) if columns else []


def _rebatch(row_lists: Iterable[list[tuple[Any, ...]]], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Regroup the server's result chunks into batches of exactly `batch_size` (the last may be short)."""
    pending: list[tuple[Any, ...]] = []
    for rows in row_lists:
        pending.extend(rows)
        while len(pending) >= batch_size:
            yield pending[:batch_size]
            pending = pending[batch_size:]
    if pending:
        yield pending


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
