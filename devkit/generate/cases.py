"""Planted cases: small, isolated visit groups whose expected outcome is known exactly.

Each case has its own person (a planted SSN in the 9xx area, which the bulk never uses), so its group
(one SSN on one date) contains only the case's visits. Cases use dedicated agencies (A, B, C active in NY;
excluded, inactive, demo and out-of-state ones), their own patients and, unless the case says otherwise, a
"Visit Updated Timestamp" three hours before the anchor, i.e. inside the 36-hour delta window.

The manifest records, per case: the visit ids by role, the SSN and date of the group, the spec items it
exercises, `visit_details` (agency key, New York wall-clock scheduled and actual times, Is Missed),
and `expect`, the outcome of a first run at `now = anchor` with the default parameters:
`pairs` (the regular ordered pairs and the rule flags that are 'Y'), and where relevant
`pairs_full_window`, `inservice_pairs`, `skipped` (D23 reason), `status_after_run` and `coordinates`.
Rule 7 expectations carry the distance, speed, ETA and gap computed with the D7 formula.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from devkit.generate.columns import rows_table, uuid_matrix
from devkit.generate.context import GenContext, Stream, at, utc_instant
from visit_conflicts.columns import FLAG_COLUMNS

FLAGS = FLAG_COLUMNS
R1, R2, R3, R4, R5, R6, R7 = FLAGS

MPH_BANDS: tuple[tuple[int, int, float], ...] = ((0, 2, 2.0), (2, 5, 6.0), (5, 10, 15.0), (10, 25, 25.0))
EXTRA_DISTANCE_PER = 1.0
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_MILE = 1_609.344
BASE_POINT = (40.75, -73.99)
# Application ids of planted dimension rows, far above what the bulk uses at any scale up to 10.
PLANTED_PAYER_APP = 99_990
PLANTED_SERVICE_APP = 999_990
DEFAULT: Any = object()  # "use the visit's default" for optional keyword arguments that accept None

Point = tuple[float, float]


# --- geometry (D7)
def distance_miles(a: Point, b: Point) -> float:
    """Great-circle miles between two (lat, lon) points, times ExtraDistancePer, rounded to 2 decimals."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    metres = 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
    return round(metres / METRES_PER_MILE * EXTRA_DISTANCE_PER, 2)


def band_mph(miles: float) -> float:
    """Speed of the half-open band [From, To) holding `miles`; beyond the last band, the last band's speed."""
    for lo, hi, mph in MPH_BANDS:
        if lo <= miles < hi:
            return mph
    return MPH_BANDS[-1][2]


def eta_minutes(miles: float) -> float:
    return round(miles / band_mph(miles) * 60, 2)


def north_of(point: Point, miles: float) -> Point:
    """The point `miles` due north (7-decimal GPS precision)."""
    dlat = math.degrees(miles * METRES_PER_MILE / EARTH_RADIUS_M)
    return (round(point[0] + dlat, 7), point[1])


def gps(point: Point) -> str:
    return f"{point[0]:.7f},{point[1]:.7f}"


def inservice_visit_id(app_id: int) -> str:
    """The synthetic VisitID of an InService event: md5('I' || app id), 32 hex digits."""
    return hashlib.md5(f"I{app_id}".encode()).hexdigest()


def pair(visit: str, con_visit: str, *flags: str, **metrics: float) -> dict[str, Any]:
    return {"visit": visit, "con_visit": con_visit, "flags": [f for f in FLAGS if f in flags], **metrics}


def both(a: str, b: str, *flags: str, **metrics: float) -> list[dict[str, Any]]:
    """The two orientations of a pair whose flags do not depend on orientation (D4)."""
    return [pair(a, b, *flags, **metrics), pair(b, a, *flags, **metrics)]


# --- entities
@dataclass(frozen=True)
class Provider:
    key: str
    id: str
    app: int
    name: str
    office_id: str
    office_app: int


@dataclass(frozen=True)
class Caregiver:
    id: str
    app: int
    provider: Provider


@dataclass(frozen=True)
class Patient:
    global_id: str
    app: int
    p_id: str
    p_app: int
    pa_id: str | None
    pa_app: int | None
    point: Point


@dataclass
class Planted:
    """Rows for every source table, the manifest's cases, and the PostgreSQL exclusion lists."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    excluded_ssns: list[str] = field(default_factory=list)
    excluded_agencies: list[tuple[str, str, int]] = field(default_factory=list)

    def tables(self) -> dict[str, pa.Table]:
        return {table: rows_table(table, rows) for table, rows in self.rows.items()}


class Planter:
    """Builds planted entities and cases; ids come from the case stream so they change with the seed."""

    def __init__(self, ctx: GenContext) -> None:
        self.ctx = ctx
        self.rng = ctx.rng(Stream.CASES)
        self.out = Planted()
        self._seq: defaultdict[str, int] = defaultdict(int)
        self._instants: dict[datetime, datetime] = {}
        self.default_updated = ctx.anchor.astimezone(UTC) - timedelta(hours=3)
        self.details: dict[str, dict[str, Any]] = {}
        self.payer_id = self.uuid()
        self.payer_app = PLANTED_PAYER_APP
        self.inactive_payer_id = self.uuid()
        self.contract_id = self.uuid()
        self.inactive_contract_id = self.uuid()
        self.service_id = self.uuid()
        self.user_id = self.uuid()
        self.out.rows["DIMPAYER"] += [
            {
                "Payer Id": self.payer_id,
                "Payer Name": "Planted Health Plan",
                "Payer State": "NY",
                "Is Active": True,
                "Is Demo": False,
            },
            {
                "Payer Id": self.inactive_payer_id,
                "Payer Name": "Planted Retired Plan",
                "Payer State": "NY",
                "Is Active": False,
                "Is Demo": False,
            },
        ]
        self.out.rows["DIMCONTRACT"] += [
            {"Contract Id": self.contract_id, "Contract Name": "Planted Contract", "Is Active": True},
            {
                "Contract Id": self.inactive_contract_id,
                "Contract Name": "Planted Old Contract",
                "Is Active": False,
            },
        ]
        self.out.rows["DIMSERVICECODE"].append(
            {
                "Service Code Id": self.service_id,
                "Application Service Code Id": PLANTED_SERVICE_APP,
                "Service Code": "HHA-PLANT",
            }
        )
        self.out.rows["DIMUSER"].append({"User Id": self.user_id, "User Fullname": "Planted Scheduler"})
        self.providers: dict[str, Provider] = {}
        for key, state, active, demo in (
            ("A", "NY", True, False),
            ("B", "NY", True, False),
            ("C", "NY", True, False),
            ("EXCLUDED_1", "NY", True, False),
            ("EXCLUDED_2", "NY", True, False),
            ("INACTIVE", "NY", False, False),
            ("DEMO", "NY", True, True),
            ("STATE_PA", "PA", True, False),
            ("STATE_BLANK", "", True, False),
            ("STATE_FULL_NAME", "New York", True, False),
        ):
            self.providers[key] = self._provider(key, state=state, active=active, demo=demo)
        for key in ("EXCLUDED_1", "EXCLUDED_2"):
            p = self.providers[key]
            self.out.excluded_agencies.append((p.name, p.id, p.app))

    # ------------------------------------------------------------------------------------------- ids
    def uuid(self) -> str:
        return bytes(uuid_matrix(self.rng, 1)[0]).decode()

    def next(self, kind: str, base: int) -> int:
        self._seq[kind] += 1
        return base + self._seq[kind]

    def instant(self, local: datetime) -> datetime:
        if local not in self._instants:
            self._instants[local] = utc_instant(local)
        return self._instants[local]

    # ------------------------------------------------------------------------------------------- entities
    def _provider(self, key: str, *, state: str | None, active: bool, demo: bool) -> Provider:
        app = self.next("provider", 99_000)
        provider = Provider(
            key, self.uuid(), app, f"Planted Agency {key}", self.uuid(), self.next("office", 99_000)
        )
        self.out.rows["DIMPROVIDER"].append(
            {
                "Provider Id": provider.id,
                "Application Provider Id": app,
                "Provider Name": provider.name,
                "Phone Number 1": "(212) 555-0100",
                "Federal Tax Number": f"99-{app:07d}",
                "Address State": state,
                "Is Active": active,
                "Is Demo": demo,
            }
        )
        self.office(provider, office_id=provider.office_id, app=provider.office_app)
        self.out.rows["DIMPAYERPROVIDER"].append(
            {
                "Payer Id": self.payer_id,
                "Application Payer Id": str(self.payer_app),
                "Provider Id": provider.id,
                "Application Provider Id": str(app),
            }
        )
        return provider

    def office(
        self,
        provider: Provider,
        *,
        office_id: str | None = None,
        app: int | None = None,
        active: bool = True,
        name: str | None = None,
    ) -> tuple[str, int]:
        office_id = office_id or self.uuid()
        app = app or self.next("office", 99_000)
        self.out.rows["DIMOFFICE"].append(
            {
                "Office Id": office_id,
                "Application Office Id": app,
                "Office Name": name or f"{provider.name} Main Office",
                "Is Active": active,
            }
        )
        return office_id, app

    def new_ssn(self) -> str:
        n = self.next("ssn", 0)
        return f"9{n // 100:02d}-{n % 100:02d}-{int(self.rng.integers(0, 10_000)):04d}"

    def caregiver(self, ssn: str | None, provider: Provider, *, caregiver_id: str | None = None) -> Caregiver:
        app = self.next("caregiver", 90_000_000)
        cg = Caregiver(caregiver_id or self.uuid(), app, provider)
        self.out.rows["DIMCAREGIVER"].append(
            {
                "Caregiver Id": cg.id,
                "Application Caregiver Id": app,
                "SSN": ssn,
                "Status": "Active",
                "Caregiver Code": f"PL{app}",
                "Caregiver Fullname": f"Planted Worker {app}",
                "Caregiver Firstname": "Planted",
                "Caregiver Lastname": f"Worker {app}",
            }
        )
        return cg

    def patient(
        self,
        provider: Provider,
        *,
        p_state: str | None = "NY",
        pa_state: Any = "NY",
        point: Point = BASE_POINT,
        gps_address: bool = True,
    ) -> Patient:
        """A patient of `provider`: provider-side and (unless pa_state is None) payer-side records.

        `p_state`/`pa_state` are the "Address State" of each record's primary GPS address; pa_state None
        means no payer-side record at all. Without `gps_address` the provider-side record only has a
        billing address (no GPS fallback and no state from it).
        """
        app = self.next("patient", 90_000_000)
        patient = Patient(
            self.uuid(),
            app,
            self.uuid(),
            app + 100_000,
            None if pa_state is None else self.uuid(),
            None if pa_state is None else app + 200_000,
            point,
        )
        self.patient_record(patient.p_id, patient.p_app)
        if gps_address:
            self.address(patient.p_id, patient.p_app, state=p_state, point=point)
        else:
            self.address(patient.p_id, patient.p_app, state=p_state, point=point, address_type="Billing")
        if patient.pa_id is not None and patient.pa_app is not None:
            self.patient_record(patient.pa_id, patient.pa_app)
            self.address(patient.pa_id, patient.pa_app, state=pa_state, point=point)
        return patient

    def patient_record(self, patient_id: str, app: int, name: str = "Planted Patient") -> None:
        self.out.rows["DIMPATIENT"].append(
            {
                "Patient Id": patient_id,
                "Admission Id": f"ADM{app}",
                "Patient Name": f"{name} {app}",
                "Patient Firstname": name,
                "Patient Lastname": str(app),
                "Medicaid Number": f"PL{app % 100_000:05d}Z",
                "Status": "Active",
            }
        )

    def address(
        self,
        patient_id: str,
        patient_app: int,
        *,
        state: str | None,
        point: Point,
        primary: bool = True,
        address_type: str = "Billing, GPS",
        created: datetime | None = None,
        address_id: str | None = None,
        app: int | None = None,
    ) -> str:
        address_id = address_id or self.uuid()
        self.out.rows["DIMPATIENTADDRESS"].append(
            {
                "Patient Address Id": address_id,
                "Application Patient Address Id": app or self.next("address", 99_000_000),
                "Address Line 1": "1 Planted Plaza",
                "Address Line 2": None,
                "City": "New York",
                "Address State": state,
                "Zip Code": "10001",
                "County": "New York",
                "Patient Id": patient_id,
                "Application Patient Id": patient_app,
                "Longitude": point[1],
                "Latitude": point[0],
                "Primary Address": primary,
                "Address Type": address_type,
                "Application Created UTC Timestamp": created or self.ctx.anchor - timedelta(days=400),
            }
        )
        return address_id

    def visit(
        self,
        cg: Caregiver,
        day: date,
        *,
        sch: tuple[str, str] | None = ("09:00", "13:00"),
        actual: tuple[str | None, str | None] | None = None,
        missed: bool = False,
        patient: Patient | None = None,
        gps_in: Any = DEFAULT,
        gps_out: Any = DEFAULT,
        updated: datetime | None = None,
        office: tuple[str, int] | None = None,
        visit_id: str | None = None,
        app_visit_id: str | None = None,
        payer: str = "payer",
        service_id: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """One CR row; returns its "Visit Id". Times are New York wall clock "HH:MM" on `day`."""
        provider = cg.provider
        patient = patient or self.patient(provider)
        visit_id = visit_id or self.uuid()
        app_visit = app_visit_id or str(self.next("visit", 990_000_000))
        start, end = actual if actual is not None else (None, None)
        self.details[visit_id] = {
            "agency": provider.key,
            "scheduled": [at(day, t).isoformat() for t in sch] if sch else [None, None],
            "actual": [at(day, t).isoformat() if t else None for t in (start, end)],
            "is_missed": missed,
        }
        point = gps(patient.point)
        row: dict[str, Any] = {
            "Visit Id": visit_id,
            "Application Visit Id": app_visit,
            "Visit Date": self.instant(at(day, "00:00")),
            "Scheduled Start Time": self.instant(at(day, sch[0])) if sch else None,
            "Scheduled End Time": self.instant(at(day, sch[1])) if sch else None,
            "Visit Start Time": self.instant(at(day, start)) if start else None,
            "Visit End Time": self.instant(at(day, end)) if end else None,
            "Call In Time": self.instant(at(day, start)) if start else None,
            "Call Out Time": self.instant(at(day, end)) if end else None,
            "Call In GPS Coordinates": (point if start else None) if gps_in is DEFAULT else gps_in,
            "Call Out GPS Coordinates": (point if end else None) if gps_out is DEFAULT else gps_out,
            "Call Out Device Type": "Mobile App" if end else None,
            "Caregiver Id": cg.id,
            "Application Caregiver Id": cg.app,
            "Provider Id": provider.id,
            "Application Provider Id": str(provider.app),
            "Office Id": (office or (provider.office_id, provider.office_app))[0],
            "Application Office Id": str((office or (provider.office_id, provider.office_app))[1]),
            "Patient Id": patient.global_id,
            "Application Patient Id": patient.app,
            "Provider Patient Id": patient.p_id,
            "Application Provider Patient Id": patient.p_app,
            "Payer Patient Id": patient.pa_id,
            "Application Payer Patient Id": patient.pa_app,
            "Service Code Id": service_id or self.service_id,
            "Application Service Code Id": PLANTED_SERVICE_APP,
            "Bill Type": "Hourly",
            "Billed": "no",
            "Bill Rate Non-Billed": 27.5,
            "Is Missed": missed,
            "Missed Visit Reason": "Caregiver No Show" if missed else None,
            "Visit Updated Timestamp": updated or self.default_updated,
            "Visit Updated User Id": user_id or self.user_id,
            "Permanent Deleted": False,
            "External Source": "HHAX",
            "ENVIRONMENT": "PROD:APP",
            "Updated Datatimestamp": updated or self.default_updated,
        }
        if payer == "payer":  # a payer contract: payer set, contract sentinel 0
            row |= {
                "Payer Id": self.payer_id,
                "Application Payer Id": self.payer_app,
                "Contract Id": "00000000-0000-0000-0000-000000000000",
                "Application Contract Id": "0",
            }
        else:  # an inactive payer with an inactive contract (UPR)
            row |= {
                "Payer Id": self.inactive_payer_id,
                "Application Payer Id": PLANTED_PAYER_APP + 1,
                "Contract Id": self.inactive_contract_id,
                "Application Contract Id": "99000001",
            }
        self.out.rows["FACTVISITCALLPERFORMANCE_CR"].append(row)
        return visit_id

    def delete(self, visit_id: str, *, updated: datetime) -> None:
        """A FACTVISITCALLPERFORMANCE_DELETED_CR copy of a planted visit."""
        source = next(r for r in self.out.rows["FACTVISITCALLPERFORMANCE_CR"] if r["Visit Id"] == visit_id)
        self.out.rows["FACTVISITCALLPERFORMANCE_DELETED_CR"].append(
            source
            | {
                "Permanent Deleted": True,
                "Visit Updated Timestamp": updated,
                "Updated Datatimestamp": updated,
            }
        )

    def event(
        self, cg: Caregiver, day: date, start: str, end: str, *, updated: datetime | None = None
    ) -> str:
        """One InService event; returns its synthetic VisitID."""
        app = self.next("inservice", 99_000_000)
        self.out.rows["FACTCAREGIVERINSERVICE"].append(
            {
                "Application Caregiver Inservice Id": app,
                "Caregiver Id": cg.id,
                "Provider Id": cg.provider.id,
                "Office Id": cg.provider.office_id,
                "Inservice start date": self.instant(at(day, start)),
                "Inservice end date": self.instant(at(day, end)),
                "Updated Date": updated or self.default_updated,
                "Environment": "PROD:APP",
            }
        )
        return inservice_visit_id(app)

    def case(
        self,
        name: str,
        *,
        description: str,
        spec: list[str],
        ssn: str | None,
        day: date,
        roles: dict[str, str],
        expect: dict[str, Any],
        events: dict[str, str] | None = None,
    ) -> None:
        if name in self.out.cases:
            raise ValueError(f"planted case {name} defined twice")
        expect = {"pairs": [], **expect}
        for key in ("pairs", "pairs_full_window", "inservice_pairs"):
            if key in expect:
                expect[key] = sorted(expect[key], key=lambda p: (p["visit"], p["con_visit"]))
        self.out.cases[name] = {
            "description": description,
            "spec": spec,
            "ssn": ssn,
            "date": day.isoformat(),
            "roles": roles,
            "visits": list(roles.values()),
            "inservice_events": events or {},
            "visit_details": {vid: self.details[vid] for vid in roles.values()},
            "expect": expect,
        }


# --- the cases
VisitSpec = tuple[str, str, dict[str, Any]]  # (role, provider key, visit keyword arguments)


def plant_cases(ctx: GenContext) -> Planted:
    p = Planter(ctx)
    past = ctx.anchor_date - timedelta(days=1)
    future = ctx.anchor_date + timedelta(days=2)

    def scenario(
        name: str,
        description: str,
        spec: list[str],
        day: date,
        visits: list[VisitSpec],
        expect: Callable[[dict[str, str]], dict[str, Any]],
        *,
        stored_ssn: Callable[[str, str], str | None] | None = None,
        group_ssn: Any = DEFAULT,
    ) -> dict[str, str]:
        """A person with one caregiver record per agency used, and the case's visits on `day`."""
        ssn = p.new_ssn()
        records: dict[str, Caregiver] = {}
        ids: dict[str, str] = {}
        for role, key, kwargs in visits:
            if key not in records:
                records[key] = p.caregiver(stored_ssn(ssn, key) if stored_ssn else ssn, p.providers[key])
            ids[role] = p.visit(records[key], day, **kwargs)
        p.case(
            name,
            description=description,
            spec=spec,
            ssn=ssn if group_ssn is DEFAULT else group_ssn,
            day=day,
            roles=ids,
            expect=expect(ids),
        )
        return ids

    done = {"sch": ("09:00", "13:00"), "actual": ("09:00", "13:00")}
    late = {"sch": ("12:00", "16:00"), "actual": ("12:00", "16:00")}

    # --- rules 1-6 and their exact boundaries (D5: strict overlap, NULL means 'N', per orientation)
    scenario(
        "rule1_same_schedule",
        "Two unstarted visits with identical schedules at two agencies.",
        ["rule 1", "D5"],
        future,
        [("v1", "A", {}), ("v2", "B", {})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R1)},
    )
    scenario(
        "rule2_same_visit_time",
        "Two completed visits with identical actual times (schedules differ).",
        ["rule 2", "D5"],
        past,
        [
            ("v1", "A", {"sch": ("09:00", "13:00"), "actual": ("09:05", "13:02")}),
            ("v2", "B", {"sch": ("09:15", "13:15"), "actual": ("09:05", "13:02")}),
        ],
        lambda v: {"pairs": both(v["v1"], v["v2"], R2)},
    )
    scenario(
        "rule3_schedule_equals_visit",
        "An unstarted visit whose schedule equals the actual times of a completed one; only the "
        "unstarted-first orientation fires.",
        ["rule 3", "D5"],
        past,
        [("v1", "A", {}), ("v2", "B", {"sch": ("09:30", "13:30"), "actual": ("09:00", "13:00")})],
        lambda v: {"pairs": [pair(v["v1"], v["v2"], R3)]},
    )
    scenario(
        "rule4_schedule_overlap",
        "Two unstarted visits with overlapping schedules.",
        ["rule 4", "D5"],
        future,
        [("v1", "A", {}), ("v2", "B", {"sch": ("11:00", "15:00")})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R4)},
    )
    scenario(
        "rule5_visit_overlap",
        "Two completed visits with overlapping actual times.",
        ["rule 5", "D5"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    scenario(
        "rule6_schedule_over_visit",
        "An unstarted visit whose schedule overlaps a completed visit; only the unstarted-first orientation.",
        ["rule 6", "D5"],
        past,
        [("v1", "A", {}), ("v2", "B", late)],
        lambda v: {"pairs": [pair(v["v1"], v["v2"], R6)]},
    )
    scenario(
        "touching_schedules_no_overlap",
        "Unstarted schedules that touch (end == start): no rule 4.",
        ["rule 4", "strict overlap"],
        future,
        [("v1", "A", {}), ("v2", "B", {"sch": ("13:00", "17:00")})],
        lambda v: {},
    )
    scenario(
        "touching_visits_no_overlap",
        "Completed visits that touch (end == start) at the same place: no rule 5, and no rule 7 (gap 0).",
        ["rule 5", "rule 7", "strict overlap", "D7"],
        past,
        [("v1", "A", done), ("v2", "B", {"sch": ("13:00", "17:00"), "actual": ("13:00", "17:00")})],
        lambda v: {},
    )
    scenario(
        "touching_schedule_visit_no_overlap",
        "An unstarted schedule touching a completed visit: no rule 6.",
        ["rule 6", "strict overlap"],
        past,
        [("v1", "A", {}), ("v2", "B", {"sch": ("13:00", "17:00"), "actual": ("13:00", "17:00")})],
        lambda v: {},
    )
    scenario(
        "partial_visit_start_only",
        "A visit with a start but no end overlapping a completed visit: partial visits fire no rule.",
        ["rules 1-7", "partial visit"],
        past,
        [
            ("v1", "A", {"actual": ("09:00", None)}),
            ("v2", "B", {"sch": ("10:00", "14:00"), "actual": ("10:00", "14:00")}),
        ],
        lambda v: {},
    )
    scenario(
        "partial_visit_end_only",
        "A visit with an end but no start against an overlapping unstarted schedule: no rule.",
        ["rules 1-7", "partial visit"],
        past,
        [("v1", "A", {"actual": (None, "13:00")}), ("v2", "B", {"sch": ("10:00", "14:00")})],
        lambda v: {},
    )
    scenario(
        "null_schedule_times",
        "An unstarted visit without scheduled times next to an unstarted visit.",
        ["rules 1, 4", "NULL means N"],
        future,
        [("v1", "A", {"sch": None}), ("v2", "B", {})],
        lambda v: {},
    )
    scenario(
        "missed_visit_conflict",
        "A missed visit (no actual times) whose schedule overlaps a completed visit elsewhere: rule 6 "
        "fires (detection does not filter on Is Missed) and status management resolves it.",
        ["rule 6", "Is Missed", "task03 A-3/A-4"],
        past,
        [
            ("v1", "A", {"missed": True}),
            ("v2", "B", {"sch": ("10:00", "14:00"), "actual": ("10:00", "14:00")}),
        ],
        lambda v: {"pairs": [pair(v["v1"], v["v2"], R6)], "is_missed": [v["v1"]], "status_after_run": "R"},
    )
    scenario(
        "three_agencies_overlap",
        "Three completed, pairwise overlapping visits at three agencies.",
        ["rule 5", "D4"],
        past,
        [
            ("v1", "A", done),
            ("v2", "B", {"sch": ("10:00", "14:00"), "actual": ("10:00", "14:00")}),
            ("v3", "C", {"sch": ("11:00", "15:00"), "actual": ("11:00", "15:00")}),
        ],
        lambda v: {
            "pairs": both(v["v1"], v["v2"], R5) + both(v["v1"], v["v3"], R5) + both(v["v2"], v["v3"], R5)
        },
    )
    scenario(
        "same_agency_overlap_not_a_pair",
        "Overlapping visits at one agency are never a pair.",
        ["pair condition"],
        past,
        [("v1", "A", done), ("v2", "A", late)],
        lambda v: {},
    )
    old = ctx.anchor - timedelta(days=5)
    scenario(
        "conflict_outside_delta",
        "A rule-5 conflict whose visits were both updated before the cutoff: out of the delta scope.",
        ["D2", "D4", "delta"],
        past,
        [("v1", "A", done | {"updated": old}), ("v2", "B", late | {"updated": old})],
        lambda v: {"pairs": [], "pairs_full_window": both(v["v1"], v["v2"], R5), "in_delta": False},
    )
    scenario(
        "delta_one_side_only",
        "Only one visit was updated since the cutoff; both orientations are evaluated (D4).",
        ["D4"],
        past,
        [("v1", "A", done), ("v2", "B", late | {"updated": ctx.anchor - timedelta(days=10)})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )

    # --- the visit window (D1: both ends inclusive) and D23 bad rows
    scenario(
        "window_start_inclusive",
        "A conflict on the first date of the window.",
        ["D1"],
        ctx.window_start,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    scenario(
        "window_end_inclusive",
        "A conflict on the last date of the window.",
        ["D1"],
        ctx.window_end,
        [("v1", "A", {}), ("v2", "B", {"sch": ("11:00", "15:00")})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R4)},
    )
    scenario(
        "bad_date_before_window",
        "A conflict dated the day before the window, updated in the delta.",
        ["D1", "D23"],
        ctx.window_start - timedelta(days=1),
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"skipped": {"reason": "date_outside_window", "visits": [v["v1"], v["v2"]]}},
    )
    scenario(
        "bad_date_after_window",
        "A conflict dated the day after the window, updated in the delta.",
        ["D1", "D23"],
        ctx.window_end + timedelta(days=1),
        [("v1", "A", {}), ("v2", "B", {"sch": ("11:00", "15:00")})],
        lambda v: {"skipped": {"reason": "date_outside_window", "visits": [v["v1"], v["v2"]]}},
    )
    scenario(
        "bad_unparseable_visit_id",
        'A visit whose "Visit Id" is not a UUID overlaps a valid visit.',
        ["D23"],
        past,
        [("v1", "A", done | {"visit_id": f"VISIT-{ctx.seed}-NOT-A-UUID"}), ("v2", "B", late)],
        lambda v: {"skipped": {"reason": "unparseable_id", "visits": [v["v1"]]}},
    )
    scenario(
        "bad_unparseable_app_visit_id",
        'A visit whose "Application Visit Id" is not an integer.',
        ["D23"],
        past,
        [("v1", "A", done | {"app_visit_id": "APP-12X"}), ("v2", "B", late)],
        lambda v: {"skipped": {"reason": "unparseable_id", "visits": [v["v1"]]}},
    )
    scenario(
        "bad_visit_end_before_start",
        "A completed visit whose actual end is before its start; read naively it would overlap v2 (rule 5).",
        ["D23"],
        past,
        [
            ("v1", "A", {"actual": ("13:00", "09:00")}),
            ("v2", "B", {"sch": ("08:00", "14:00"), "actual": ("08:00", "14:00")}),
        ],
        lambda v: {"skipped": {"reason": "end_before_start", "visits": [v["v1"]]}},
    )
    scenario(
        "bad_schedule_end_before_start",
        "An unstarted visit whose scheduled end precedes its start; read naively it overlaps v2 (rule 4).",
        ["D23"],
        future,
        [("v1", "A", {"sch": ("13:00", "09:00")}), ("v2", "B", {"sch": ("08:00", "14:00")})],
        lambda v: {"skipped": {"reason": "end_before_start", "visits": [v["v1"]]}},
    )
    scenario(
        "bad_blank_ssn",
        "Overlapping visits of two caregiver records whose SSN is blank ('   ', '').",
        ["D23", "SSN blank"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"skipped": {"reason": "blank_ssn", "visits": [v["v1"], v["v2"]]}},
        stored_ssn=lambda ssn, key: "   " if key == "A" else "",
        group_ssn=None,
    )
    scenario(
        "bad_null_ssn",
        "Overlapping visits of two caregiver records whose SSN is NULL.",
        ["D23", "SSN blank"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"skipped": {"reason": "blank_ssn", "visits": [v["v1"], v["v2"]]}},
        stored_ssn=lambda ssn, key: None,
        group_ssn=None,
    )

    # --- exclusions and agency filters
    scenario(
        "excluded_ssn",
        "A rule-5 conflict of an SSN listed in excluded_ssn.",
        ["excluded_ssn"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {},
    )
    p.out.excluded_ssns.append(p.out.cases["excluded_ssn"]["ssn"])
    scenario(
        "excluded_ssn_padded_in_dimension",
        "The caregiver records store the excluded SSN with surrounding blanks; TRIM still excludes it.",
        ["excluded_ssn", "TRIM(SSN)"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {},
        stored_ssn=lambda ssn, key: f"  {ssn} ",
    )
    p.out.excluded_ssns.append(p.out.cases["excluded_ssn_padded_in_dimension"]["ssn"])
    scenario(
        "padded_ssn_matches_trimmed",
        "One record stores the SSN padded, the other clean: one person.",
        ["TRIM(SSN)", "rule 5"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
        stored_ssn=lambda ssn, key: f" {ssn}  " if key == "A" else ssn,
    )
    scenario(
        "excluded_agency",
        "A conflict with a visit of an agency listed in excluded_agency.",
        ["excluded_agency"],
        past,
        [("v1", "EXCLUDED_1", done), ("v2", "B", late)],
        lambda v: {},
    )
    scenario(
        "inactive_agency",
        "A conflict with a visit of an inactive agency (dropped by the inner join).",
        ["DIMPROVIDER Is Active"],
        past,
        [("v1", "INACTIVE", done), ("v2", "B", late)],
        lambda v: {},
    )
    scenario(
        "demo_agency",
        "A conflict with a visit of a demo agency (dropped by the inner join).",
        ["DIMPROVIDER Is Demo"],
        past,
        [("v1", "DEMO", done), ("v2", "B", late)],
        lambda v: {},
    )
    inactive_office = p.office(p.providers["A"], active=False, name="Planted Closed Office")
    scenario(
        "inactive_dimensions_left_join",
        "Inactive office, payer and contract, unknown service code and user: left joins keep the pair.",
        ["left joins"],
        past,
        [
            (
                "v1",
                "A",
                done
                | {
                    "office": inactive_office,
                    "payer": "inactive",
                    "service_id": p.uuid(),
                    "user_id": p.uuid(),
                },
            ),
            ("v2", "B", late),
        ],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )

    # --- cross-state filter (detection.md section 4)
    def states(p_state: Any, pa_state: Any, key: str = "A") -> dict[str, Any]:
        return {"patient": p.patient(p.providers[key], p_state=p_state, pa_state=pa_state)}

    cross = [
        (
            "cross_state_dropped",
            "Both sides have states and none match (NY vs NJ).",
            "A",
            ("NY", "NY"),
            "B",
            ("NJ", "NJ"),
            False,
        ),
        (
            "cross_state_kept_any_match",
            "Any left state equal to any right state keeps the pair (NJ).",
            "A",
            ("NY", "NJ"),
            "B",
            ("NJ", "PA"),
            True,
        ),
        (
            "cross_state_kept_side_undeterminable",
            "The right side has no patient state and a blank agency state: undeterminable, kept.",
            "A",
            ("NY", "NY"),
            "STATE_BLANK",
            ("", None),
            True,
        ),
        (
            "cross_state_full_name_mapped",
            "' new york' maps to NY and matches NY.",
            "A",
            (" new york", None),
            "B",
            ("NY", "NY"),
            True,
        ),
        (
            "cross_state_long_island_dropped",
            "'LONG ISLAND' maps to LI, which does not match NY.",
            "A",
            ("LONG ISLAND", "Long Island"),
            "B",
            ("NY", "NY"),
            False,
        ),
        (
            "cross_state_provider_fallback_dropped",
            "Both sides have blank patient states; the agency states NY and PA differ.",
            "A",
            ("", None),
            "STATE_PA",
            ("", None),
            False,
        ),
        (
            "cross_state_provider_fallback_kept",
            "Blank patient states fall back to the agency's NY, matching 'ny '.",
            "A",
            ("", None),
            "B",
            ("ny ", None),
            True,
        ),
        (
            "cross_state_provider_state_not_mapped",
            "The agency fallback is upper-cased and trimmed but not mapped: 'NEW YORK' does not match NY.",
            "STATE_FULL_NAME",
            ("", None),
            "B",
            ("NY", "NY"),
            False,
        ),
        (
            "cross_state_no_fallback_when_one_state_present",
            "One patient state is present (NJ), so the agency's NY is not used: NJ vs NY is dropped.",
            "A",
            ("", "NJ"),
            "B",
            ("NY", "NY"),
            False,
        ),
    ]

    def kept_pairs(kept: bool) -> Callable[[dict[str, str]], dict[str, Any]]:
        return lambda v: {"pairs": both(v["v1"], v["v2"], R5) if kept else []}

    for name, description, k1, s1, k2, s2, kept in cross:
        scenario(
            name,
            description,
            ["cross-state filter", "D5"],
            past,
            [("v1", k1, done | states(*s1, key=k1)), ("v2", k2, late | states(*s2, key=k2))],
            kept_pairs(kept),
        )

    # --- rule 7 (D6 coordinates, D7 distance): v1 08:00-12:00, v2 from 12:30 (a 30-minute gap)
    def rule7(
        name: str,
        description: str,
        miles_apart: float,
        *,
        fires: bool,
        v1: dict[str, Any] | None = None,
        v2: dict[str, Any] | None = None,
        v2_times: tuple[str, str] = ("12:30", "16:30"),
        gap: int = 30,
        spec: tuple[str, ...] = ("rule 7", "D7"),
    ) -> None:
        far = north_of(BASE_POINT, miles_apart)
        miles = distance_miles(BASE_POINT, far)
        metrics = {
            "distance_miles": miles,
            "mph": band_mph(miles),
            "eta_minutes": eta_minutes(miles),
            "gap_minutes": gap,
        }
        first = {
            "sch": ("08:00", "12:00"),
            "actual": ("08:00", "12:00"),
            "gps_in": gps(BASE_POINT),
            "gps_out": gps(BASE_POINT),
        } | (v1 or {})
        second = {"sch": v2_times, "actual": v2_times, "gps_in": gps(far), "gps_out": gps(far)} | (v2 or {})
        scenario(
            name,
            description,
            list(spec),
            past,
            [("v1", "A", first), ("v2", "B", second)],
            lambda v: {"pairs": both(v["v1"], v["v2"], R7, **metrics) if fires else [], "rule7": metrics},
        )

    rule7(
        "rule7_distance_just_above_eta", "ETA 30.6 min > 30-min gap (12.75 mi at 25 mph).", 12.75, fires=True
    )
    rule7(
        "rule7_distance_just_below_eta", "ETA 29.4 min < 30-min gap (12.25 mi at 25 mph).", 12.25, fires=False
    )
    rule7(
        "rule7_beyond_last_band",
        "40 mi is beyond the last band, so its 25 mph applies: ETA 96 > 60.",
        40.0,
        fires=True,
        v2_times=("13:00", "17:00"),
        gap=60,
    )
    rule7(
        "rule7_band_edge_half_open",
        "10.00 mi is in [10, 25) at 25 mph (ETA 24 < 30); an inclusive [5, 10] band would give 40 > 30.",
        10.002,
        fires=False,
    )
    quoted_far = north_of(BASE_POINT, 12.75)
    rule7(
        "rule7_gps_quoted",
        "Call GPS text wrapped in double quotes is parsed after stripping them.",
        12.75,
        fires=True,
        spec=("rule 7", "D6"),
        v1={"gps_in": f'"{gps(BASE_POINT)}"', "gps_out": f'"{gps(BASE_POINT)}"'},
        v2={"gps_in": f'"{gps(quoted_far)}"', "gps_out": f'"{gps(quoted_far)}"'},
    )
    rule7(
        "rule7_call_in_gps_fallback",
        "No call-out GPS: the call-in GPS is used (patients sit at one point).",
        12.75,
        fires=True,
        spec=("rule 7", "D6"),
        v1={"gps_out": None},
        v2={"gps_out": ","},
    )
    rule7(
        "rule7_gps_out_of_range",
        "Call-out latitude 95 and call-in longitude -200 are missing coordinates; no patient GPS address.",
        40.0,
        fires=False,
        spec=("rule 7", "D6"),
        v1={
            "gps_out": "95.1000000,-73.9900000",
            "gps_in": "40.7500000,-200.0000000",
            "patient": p.patient(p.providers["A"], gps_address=False),
        },
    )
    rule7(
        "rule7_gps_unparseable",
        "Unparseable call GPS text and no patient GPS address: no coordinates.",
        40.0,
        fires=False,
        spec=("rule 7", "D6"),
        v1={"gps_out": "N/A", "gps_in": "abc,def", "patient": p.patient(p.providers["A"], gps_address=False)},
    )
    rule7(
        "rule7_overlap_no_distance_flag",
        "Overlapping visits 40 mi apart: rule 5 only, the gap is 0 (D7).",
        40.0,
        fires=False,
        v2_times=("11:00", "15:00"),
        gap=0,
    )
    p.out.cases["rule7_overlap_no_distance_flag"]["expect"]["pairs"] = both(
        *p.out.cases["rule7_overlap_no_distance_flag"]["visits"], R5
    )
    rule7(
        "rule7_touching_gap_zero",
        "Touching visits 40 mi apart: gap 0, so no distance flag.",
        40.0,
        fires=False,
        v2_times=("12:00", "16:00"),
        gap=0,
    )
    scenario(
        "rule7_needs_both_completed",
        "A completed visit and an unstarted one 40 mi away 30 min later: rule 7 needs two completed visits.",
        ["rule 7", "D7"],
        past,
        [
            ("v1", "A", {"sch": ("08:00", "12:00"), "actual": ("08:00", "12:00")}),
            (
                "v2",
                "B",
                {
                    "sch": ("12:30", "16:30"),
                    "patient": p.patient(p.providers["B"], point=north_of(BASE_POINT, 40.0)),
                },
            ),
        ],
        lambda v: {},
    )
    far = north_of(BASE_POINT, 12.75)
    scenario(
        "rule7_patient_address_fallback",
        "No call GPS on either visit: the provider-side patients' primary GPS addresses are used.",
        ["rule 7", "D6"],
        past,
        [
            (
                "v1",
                "A",
                {"sch": ("08:00", "12:00"), "actual": ("08:00", "12:00"), "gps_in": None, "gps_out": ","},
            ),
            (
                "v2",
                "B",
                {
                    "sch": ("12:30", "16:30"),
                    "actual": ("12:30", "16:30"),
                    "gps_in": "",
                    "gps_out": None,
                    "patient": p.patient(p.providers["B"], point=far),
                },
            ),
        ],
        lambda v: {"pairs": both(v["v1"], v["v2"], R7, **_metrics(far, 30))},
    )

    # --- dimension fan-out (D8)
    dup_office = p.office(p.providers["A"], name="Planted Duplicate Office (1)")
    p.office(
        p.providers["A"], office_id=dup_office[0], app=dup_office[1], name="Planted Duplicate Office (2)"
    )
    scenario(
        "fanout_duplicate_office_rows",
        "The visit's office id has two DIMOFFICE rows.",
        ["D8"],
        past,
        [("v1", "A", done | {"office": dup_office}), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    ids = scenario(
        "fanout_duplicate_caregiver_rows",
        "The visit's caregiver id has two DIMCAREGIVER rows.",
        ["D8"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    row = next(r for r in p.out.rows["FACTVISITCALLPERFORMANCE_CR"] if r["Visit Id"] == ids["v1"])
    twin = next(r for r in p.out.rows["DIMCAREGIVER"] if r["Caregiver Id"] == row["Caregiver Id"])
    p.out.rows["DIMCAREGIVER"].append(
        twin
        | {
            "Application Caregiver Id": twin["Application Caregiver Id"] + 500,
            "Caregiver Fullname": "Planted Worker Duplicate",
        }
    )
    dup_patient = p.patient(p.providers["A"])
    p.patient_record(dup_patient.p_id, dup_patient.p_app, name="Planted Patient Duplicate")
    scenario(
        "fanout_duplicate_patient_rows",
        "The visit's provider patient id has two DIMPATIENT rows.",
        ["D8"],
        past,
        [("v1", "A", done | {"patient": dup_patient}), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )

    yes_point, no_point = north_of(BASE_POINT, 12.75), north_of(BASE_POINT, 12.25)
    no_gps = {"sch": ("08:00", "12:00"), "actual": ("08:00", "12:00"), "gps_in": None, "gps_out": None}
    second = {"sch": ("12:30", "16:30"), "actual": ("12:30", "16:30")}

    newest = p.patient(p.providers["A"], point=yes_point)  # its primary GPS address, 400 days old
    p.address(newest.p_id, newest.p_app, state="NY", point=no_point, created=ctx.anchor - timedelta(days=900))
    p.address(
        newest.p_id,
        newest.p_app,
        state="NY",
        point=no_point,
        primary=False,
        address_type="Home, GPS",
        created=ctx.anchor - timedelta(days=10),
    )
    p.address(
        newest.p_id,
        newest.p_app,
        state="NY",
        point=no_point,
        address_type="Billing",
        created=ctx.anchor - timedelta(days=5),
    )
    scenario(
        "fanout_patient_address_newest_wins",
        "Four addresses: the newest primary GPS one (12.75 mi, fires) must win over an older primary GPS, "
        "a newer non-primary GPS and a newer primary non-GPS address (12.25 mi, would not fire).",
        ["D8", "D6", "rule 7"],
        past,
        [("v1", "A", no_gps | {"patient": newest}), ("v2", "B", second)],
        lambda v: {
            "pairs": both(v["v1"], v["v2"], R7, **_metrics(yes_point, 30)),
            "coordinates": {v["v1"]: list(yes_point)},
        },
    )

    tie = p.patient(p.providers["A"], point=yes_point, gps_address=False)
    small, large = sorted([p.uuid(), p.uuid()])
    created = ctx.anchor - timedelta(days=30)
    p.address(
        tie.p_id, tie.p_app, state="NY", point=yes_point, created=created, address_id=small, app=99_900_001
    )
    p.address(
        tie.p_id, tie.p_app, state="NY", point=no_point, created=created, address_id=large, app=99_900_002
    )
    scenario(
        "fanout_patient_address_tie_smallest_id",
        "Two primary GPS addresses created at the same instant: the smallest id (also the smallest "
        "application id) wins (12.75 mi, fires; the other is 12.25 mi).",
        ["D8", "D6", "rule 7"],
        past,
        [("v1", "A", no_gps | {"patient": tie}), ("v2", "B", second)],
        lambda v: {
            "pairs": both(v["v1"], v["v2"], R7, **_metrics(yes_point, 30)),
            "coordinates": {v["v1"]: list(yes_point)},
        },
    )

    # --- InService (other-actions.md section C): visits at A, events at other agencies
    helper_day = ctx.anchor_date - timedelta(days=8)

    def inservice(
        name: str,
        description: str,
        visit: dict[str, Any],
        events: list[tuple[str, str, str]],
        expect_pairs: bool,
        *,
        helper: bool = True,
    ) -> None:
        ssn = p.new_ssn()
        records: dict[str, Caregiver] = {}

        def record(key: str) -> Caregiver:
            if key not in records:
                records[key] = p.caregiver(ssn, p.providers[key])
            return records[key]

        vid = p.visit(record("A"), past, **visit)
        event_ids = {}
        for i, (key, start, end) in enumerate(events, 1):
            event_ids[f"e{i}"] = p.event(record(key), past, start, end)
        if helper:
            # The visit's own caregiver record needs an InService event in the window (the legacy
            # caregiver semi-join); this one is at A, a week earlier, with nothing to overlap.
            event_ids["helper"] = p.event(record("A"), helper_day, "09:00", "10:00")
        pairs = []
        if expect_pairs:
            pairs = both(vid, event_ids["e1"])
            for entry in pairs:
                entry.pop("flags")
        p.case(
            name,
            description=description,
            spec=["InService", "D14", "other-actions C.2"],
            ssn=ssn,
            day=past,
            roles={"visit": vid},
            events=event_ids,
            expect={"inservice_pairs": pairs},
        )

    inservice(
        "inservice_other_agency_overlap",
        "A completed visit at A overlaps a training at B.",
        done,
        [("B", "11:00", "12:00")],
        True,
    )
    inservice(
        "inservice_touching_counts",
        "The training at B starts when the visit ends (closed interval).",
        done,
        [("B", "13:00", "14:00")],
        True,
    )
    inservice(
        "inservice_same_agency_drops_visit",
        "The visit also overlaps a training of its own record at A, so it is not eligible at all.",
        done,
        [("B", "11:00", "12:00"), ("A", "10:00", "11:00")],
        False,
        helper=False,
    )
    inservice(
        "inservice_missed_visit_ignored",
        "A missed visit (with actual times) is not eligible.",
        done | {"missed": True},
        [("B", "10:00", "11:00")],
        False,
    )
    inservice(
        "inservice_unstarted_visit_ignored",
        "A visit without actual times is not eligible.",
        {"sch": ("09:00", "13:00")},
        [("B", "10:00", "11:00")],
        False,
    )
    inservice(
        "inservice_no_overlap",
        "The training at B starts an hour after the visit ends.",
        done,
        [("B", "14:00", "15:00")],
        False,
    )
    inservice(
        "inservice_excluded_agency",
        "The overlapping training is at an excluded agency.",
        done,
        [("EXCLUDED_2", "10:00", "11:00")],
        False,
    )

    # --- deleted visits (other-actions.md section D, phase B)
    ids = scenario(
        "deleted_visit_with_conflict",
        "v1 conflicts with v2 and is also in DELETED_CR, updated in the delta: its pairs become 'D'.",
        ["task03 B-1/B-2", "D15"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5), "deleted_visits": [v["v1"]], "status_after_run": "D"},
    )
    p.delete(ids["v1"], updated=ctx.anchor.astimezone(UTC) - timedelta(hours=2))
    ids = scenario(
        "deleted_visit_outside_delta",
        "v1 conflicts with v2; its DELETED_CR row was updated before the cutoff, so phase B ignores it.",
        ["task03 B-0", "D15", "D2"],
        past,
        [("v1", "A", done), ("v2", "B", late)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5), "deleted_visits": [], "status_after_run": "N"},
    )
    p.delete(ids["v1"], updated=ctx.anchor - timedelta(days=3))
    return p.out


def _metrics(far: Point, gap: int) -> dict[str, float]:
    miles = distance_miles(BASE_POINT, far)
    return {
        "distance_miles": miles,
        "mph": band_mph(miles),
        "eta_minutes": eta_minutes(miles),
        "gap_minutes": gap,
    }
