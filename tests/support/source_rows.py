"""Tiny source data for detection tests, written straight into the Snowflake emulation.

`SourceRows` creates the source tables (`create_source_schema`) and inserts providers, caregivers,
patients and visits with sensible defaults for every column the detection reads, so that a test states
only what matters to it. Times are naive wall-clock datetimes in the business time zone (New York) and
are stored as TIMESTAMP_TZ instants, as in production.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devkit.emulation import create_source_schema
from visit_conflicts.columns import PAIR_COLUMNS
from visit_conflicts.source.common import SourceScope, run_params, stream_rows
from visit_conflicts.source.detect import prepare_scope_rows
from visit_conflicts.source.plan import count_skipped_rows, iter_delta_groups
from visit_conflicts.source.schema import SOURCE_TABLES, source_columns
from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.reference import ReferenceData

BUSINESS_TZ = ZoneInfo("America/New_York")
VISIT_DATE = date(2024, 5, 15)
WINDOW_START = date(2023, 1, 1)
WINDOW_END = date(2024, 12, 31)
CUTOFF = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
RECENT = datetime(2024, 5, 12, 8, 0)  # wall clock, after CUTOFF
OLD = datetime(2024, 5, 1, 8, 0)  # wall clock, before CUTOFF

# The legacy test fixtures' speed bands, contiguous as D7 intends.
MPH_BANDS: tuple[tuple[float, float, float], ...] = (
    (0.0, 2.0, 2.0),
    (2.0, 5.0, 6.0),
    (5.0, 10.0, 15.0),
    (10.0, 25.0, 25.0),
    (25.0, 50.0, 45.0),
)

NO_REFERENCE = ReferenceData(
    excluded_ssns=(),
    excluded_provider_ids=(),
    mph_bands=MPH_BANDS,
    extra_distance_per=1.0,
)


def scope(chunk: int | None = None, chunks: int = 1, **kwargs: Any) -> SourceScope:
    """The tests' standard scope: a window around VISIT_DATE and a cutoff between OLD and RECENT."""
    values: dict[str, Any] = {
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "cutoff": CUTOFF,
        "chunk": chunk,
        "chunks": chunks,
    }
    values.update(kwargs)
    return SourceScope(**values)


def at(hour: int, minute: int = 0, day: date = VISIT_DATE) -> datetime:
    """A wall-clock time on `day` (hours >= 24 roll into the next day)."""
    return datetime.combine(day, time(0, 0)) + timedelta(hours=hour, minutes=minute)


def _aware(value: Any) -> Any:
    """Naive datetimes are business wall-clock times; dates are the business day's midnight."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=BUSINESS_TZ)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=BUSINESS_TZ)
    return value


@dataclass
class SourceRows:
    """Collects rows per source table; `flush` inserts them in one statement per table."""

    conn: Any
    _pending: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        create_source_schema(self.conn)

    # -- ids ---------------------------------------------------------------------------------------

    def new_id(self) -> str:
        """A deterministic lower-case uuid, unique within this builder."""
        return f"00000000-0000-4000-8000-{next(self._ids):012d}"

    def new_app_id(self) -> int:
        return 1000 + next(self._ids)

    # -- rows --------------------------------------------------------------------------------------

    def add(self, table: str, **values: Any) -> dict[str, Any]:
        """Queue one row; keys are exact source column names (spaces included)."""
        known = {name for name, _ in source_columns(table)}
        unknown = set(values) - known
        if unknown:
            raise KeyError(f"{table} has no columns {sorted(unknown)}")
        row = {k: _aware(v) for k, v in values.items()}
        self._pending.setdefault(table, []).append(row)
        return row

    def provider(
        self,
        *,
        provider_id: str | None = None,
        state: str | None = "NY",
        active: bool | None = True,
        demo: bool | None = False,
        name: str | None = None,
        app_id: int | None = None,
    ) -> str:
        provider_id = provider_id or self.new_id()
        self.add(
            "DIMPROVIDER",
            **{
                "Provider Id": provider_id,
                "Application Provider Id": app_id if app_id is not None else self.new_app_id(),
                "Provider Name": name or f"Agency {provider_id[-4:]}",
                "Phone Number 1": "212-555-0100",
                "Federal Tax Number": f"TAX{provider_id[-6:]}",
                "Address State": state,
                "Is Active": active,
                "Is Demo": demo,
            },
        )
        return provider_id

    def caregiver(
        self,
        ssn: str | None,
        *,
        caregiver_id: str | None = None,
        app_id: int | None = None,
        code: str | None = None,
    ) -> str:
        caregiver_id = caregiver_id or self.new_id()
        self.add(
            "DIMCAREGIVER",
            **{
                "Caregiver Id": caregiver_id,
                "Application Caregiver Id": app_id if app_id is not None else self.new_app_id(),
                "SSN": ssn,
                "Status": "Active",
                "Caregiver Code": code or f"C{caregiver_id[-5:]}",
                "Caregiver Fullname": "Pat Aide",
                "Caregiver Firstname": "Pat",
                "Caregiver Lastname": "Aide",
            },
        )
        return caregiver_id

    def patient(
        self,
        *,
        patient_id: str | None = None,
        state: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        with_address: bool = True,
        name: str = "Sam Patient",
    ) -> str:
        """A patient, with (by default) one primary GPS address carrying `state` and coordinates."""
        patient_id = patient_id or self.new_id()
        self.add(
            "DIMPATIENT",
            **{
                "Patient Id": patient_id,
                "Admission Id": f"ADM{patient_id[-4:]}",
                "Patient Name": name,
                "Patient Firstname": name.split()[0],
                "Patient Lastname": name.split()[-1],
                "Medicaid Number": f"MC{patient_id[-6:]}",
                "Status": "Active",
            },
        )
        if with_address:
            self.address(patient_id, state=state, latitude=latitude, longitude=longitude)
        return patient_id

    def address(
        self,
        patient_id: str,
        *,
        state: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        created: datetime = datetime(2023, 1, 1, 9, 0),
        primary: bool = True,
        address_type: str = "Billing, GPS",
        city: str = "Bronx",
    ) -> str:
        address_id = self.new_id()
        self.add(
            "DIMPATIENTADDRESS",
            **{
                "Patient Address Id": address_id,
                "Application Patient Address Id": self.new_app_id(),
                "Address Line 1": "1 Main St",
                "Address Line 2": None,
                "City": city,
                "Address State": state,
                "Zip Code": "10453",
                "County": "Bronx",
                "Patient Id": patient_id,
                "Application Patient Id": self.new_app_id(),
                "Longitude": longitude,
                "Latitude": latitude,
                "Primary Address": primary,
                "Address Type": address_type,
                "Application Created UTC Timestamp": created,
            },
        )
        return address_id

    def visit(
        self,
        *,
        provider: str,
        caregiver: str,
        visit_date: date = VISIT_DATE,
        sch: tuple[datetime | None, datetime | None] | None = None,
        actual: tuple[datetime | None, datetime | None] = (None, None),
        updated: datetime | None = RECENT,
        call_out_gps: str | None = None,
        call_in_gps: str | None = None,
        patient: str | None = None,
        payer_patient: str | None = None,
        visit_id: str | None = None,
        **columns: Any,
    ) -> str:
        """One FACTVISITCALLPERFORMANCE_CR row; `columns` overrides any source column by name."""
        visit_id = visit_id or self.new_id()
        if sch is None:
            sch = (at(9, day=visit_date), at(13, day=visit_date))
        values: dict[str, Any] = {
            "Visit Id": visit_id,
            "Application Visit Id": str(self.new_app_id()),
            "Visit Date": visit_date,
            "Scheduled Start Time": sch[0],
            "Scheduled End Time": sch[1],
            "Visit Start Time": actual[0],
            "Visit End Time": actual[1],
            "Call In Time": actual[0],
            "Call Out Time": actual[1],
            "Call In GPS Coordinates": call_in_gps,
            "Call Out GPS Coordinates": call_out_gps,
            "Call Out Device Type": "Mobile App" if actual[1] else None,
            "Caregiver Id": caregiver,
            "Application Caregiver Id": self.new_app_id(),
            "Provider Id": provider,
            "Application Provider Id": str(self.new_app_id()),
            "Office Id": None,
            "Application Office Id": None,
            "Patient Id": patient,
            "Application Patient Id": self.new_app_id(),
            "Provider Patient Id": patient,
            "Application Provider Patient Id": self.new_app_id(),
            "Payer Patient Id": payer_patient,
            "Application Payer Patient Id": self.new_app_id(),
            "Payer Id": None,
            "Application Payer Id": 0,
            "Contract Id": None,
            "Application Contract Id": "17",
            "Service Code Id": None,
            "Bill Type": "Hourly",
            "Billed": "no",
            "Billed Hours": None,
            "Billed Rate": 27.5,
            "Total Billed Amount": None,
            "Bill Rate Non-Billed": 26.0,
            "Invoice Date": None,
            "Is Missed": False,
            "Missed Visit Reason": None,
            "Visit Updated Timestamp": updated,
            "Visit Updated User Id": None,
            "Permanent Deleted": False,
            "External Source": "HHAX",
            "ENVIRONMENT": "PROD:APP",
            "Updated Datatimestamp": updated,
        }
        values.update(columns)
        self.add("FACTVISITCALLPERFORMANCE_CR", **values)
        return visit_id

    # -- writing -----------------------------------------------------------------------------------

    def flush(self) -> None:
        cur = self.conn.cursor()
        try:
            for table, rows in self._pending.items():
                names = sorted({k for row in rows for k in row})
                column_list = ", ".join(f'"{n}"' for n in names)
                one = "(" + ", ".join(["%s"] * len(names)) + ")"
                params = [row.get(n) for row in rows for n in names]
                cur.execute(
                    f"INSERT INTO {table} ({column_list}) VALUES {', '.join([one] * len(rows))}",
                    params,
                )
        finally:
            cur.close()
        self._pending.clear()

    def truncate(self) -> None:
        """Empty every source table (between Hypothesis examples)."""
        self._pending.clear()
        cur = self.conn.cursor()
        try:
            for table in SOURCE_TABLES:
                cur.execute(f"TRUNCATE TABLE {table}")
        finally:
            cur.close()


# -- running the detection -------------------------------------------------------------------------


def detect_pairs(
    conn: Any,
    detection_scope: SourceScope | None = None,
    ref: ReferenceData = NO_REFERENCE,
    batch_size: int = 1000,
) -> list[dict[str, Any]]:
    """Every pair of the scope as a dict keyed by PAIR_COLUMNS."""
    rows = [
        dict(zip(PAIR_COLUMNS, row, strict=True))
        for batch in pair_rows(conn, detection_scope or scope(), ref, batch_size)
        for row in batch
    ]
    return rows


def pair_map(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Pairs keyed by (VisitID, ConVisitID); fails on a duplicate key (D8)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["VisitID"], row["ConVisitID"])
        assert key not in out, f"pair {key} appears twice"
        out[key] = row
    return out


def delta_groups(
    conn: Any, detection_scope: SourceScope | None = None, ref: ReferenceData = NO_REFERENCE
) -> list[tuple[date, str, int]]:
    return [g for batch in iter_delta_groups(conn, detection_scope or scope(), ref, 1000) for g in batch]


def skipped(
    conn: Any, detection_scope: SourceScope | None = None, ref: ReferenceData = NO_REFERENCE
) -> dict[str, int]:
    """plan's skip counts (D23) of the scope's delta groups (of its chunk, when it has one)."""
    counted = detection_scope or scope()
    days = sorted({visit_date for visit_date, _, _ in delta_groups(conn, counted, ref)})
    chunks = None if counted.chunk is None else {counted.chunk}
    return count_skipped_rows(conn, counted, days, chunks=chunks)


def pair_rows(
    conn: Any, scope: SourceScope, ref: ReferenceData, batch_size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The pair query's rows through the connector's row interface (fetchmany), the path InService uses:
    Python rows the tests can read (detect itself reads the same query as Arrow batches)."""
    prepare_scope_rows(
        conn, scope, sorted({visit_date for visit_date, _, _ in delta_groups(conn, scope, ref)})
    )
    cur = conn.cursor()
    try:
        cur.execute(read_sql("snowflake/detect/select_conflict_pairs.sql"), run_params(scope))
        yield from stream_rows(cur, batch_size)
    finally:
        cur.close()
