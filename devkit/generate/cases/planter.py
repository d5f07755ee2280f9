"""The planter: the entities, ids and row builders every planted case is made of.

A `Planter` owns the case random stream (`Stream.CASES`) and the `Planted` output. Its constructor plants
the shared dimension rows (a payer, contracts, a service code, a user and the agencies A, B, C plus the
excluded, inactive, demo and out-of-state ones); its methods add caregivers, patients, addresses, visits,
deleted copies and InService events, and record a case in the manifest. `scenario` is the common shape of
a case: one new person, one caregiver record per agency used, the case's visits on one date.

Ids come from the case stream and from per-kind counters, so the order in which cases call these methods
is part of the generated data: the sections of `plant_cases` must keep calling them in the same order.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pyarrow as pa

from devkit.generate.columns import rows_table, uuid_matrix
from devkit.generate.context import GenContext, Stream, at, utc_instant
from devkit.geometry import EARTH_RADIUS_M, METRES_PER_MILE, Point, band_speed, distance_miles, eta_minutes
from visit_conflicts.columns import FLAG_COLUMNS

FLAGS = FLAG_COLUMNS
R1, R2, R3, R4, R5, R6, R7 = FLAGS

# The reference rows the generator writes to PostgreSQL (`mph`, settings."ExtraDistancePer").
MPH_BANDS: tuple[tuple[int, int, float], ...] = ((0, 2, 2.0), (2, 5, 6.0), (5, 10, 15.0), (10, 25, 25.0))
EXTRA_DISTANCE_PER = 1.0
BASE_POINT = (40.75, -73.99)
# Application ids of planted dimension rows, far above what the bulk uses at any scale up to 10.
PLANTED_PAYER_APP = 99_990
PLANTED_SERVICE_APP = 999_990
DEFAULT: Any = object()  # "use the visit's default" for optional keyword arguments that accept None

VisitSpec = tuple[str, str, Mapping[str, Any]]  # (role, provider key, visit keyword arguments)
Expect = Callable[[dict[str, str]], dict[str, Any]]  # the case's `expect`, from its visit ids by role

# The two visit shapes most cases combine: completed 09:00-13:00 and completed 12:00-16:00 (they overlap).
# Read-only: cases extend them with `DONE | {...}`, which makes a new dict.
DONE: MappingProxyType[str, Any] = MappingProxyType({"sch": ("09:00", "13:00"), "actual": ("09:00", "13:00")})
LATE: MappingProxyType[str, Any] = MappingProxyType({"sch": ("12:00", "16:00"), "actual": ("12:00", "16:00")})


# --- planted positions and expectations
def north_of(point: Point, miles: float) -> Point:
    """The point `miles` due north (7-decimal GPS precision)."""
    dlat = math.degrees(miles * METRES_PER_MILE / EARTH_RADIUS_M)
    return (round(point[0] + dlat, 7), point[1])


def gps(point: Point) -> str:
    return f"{point[0]:.7f},{point[1]:.7f}"


def travel_metrics(far: Point, gap: int) -> dict[str, float]:
    """Rule 7's expected distance, speed and ETA from BASE_POINT to `far`, and the gap (D7)."""
    miles = distance_miles(BASE_POINT, far, EXTRA_DISTANCE_PER)
    mph = band_speed(miles, MPH_BANDS)
    # Planted distances are never negative and the bands are not empty, so there is always a speed.
    assert mph is not None
    eta = eta_minutes(miles, mph)
    assert eta is not None
    return {"distance_miles": miles, "mph": mph, "eta_minutes": eta, "gap_minutes": gap}


def inservice_visit_id(app_id: int) -> str:
    """The synthetic VisitID of an InService event: md5('I' || app id), 32 hex digits."""
    return hashlib.md5(f"I{app_id}".encode()).hexdigest()


def pair(visit: str, con_visit: str, *flags: str, **metrics: float) -> dict[str, Any]:
    return {"visit": visit, "con_visit": con_visit, "flags": [f for f in FLAGS if f in flags], **metrics}


def both(a: str, b: str, *flags: str, **metrics: float) -> list[dict[str, Any]]:
    """The two orientations of a pair whose flags do not depend on orientation (D4)."""
    return [pair(a, b, *flags, **metrics), pair(b, a, *flags, **metrics)]


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
    # The bad-input catalogue, when planted: one entry per kind with the counter it must move.
    bad_input: list[dict[str, Any]] = field(default_factory=list)

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
    def _provider(
        self, key: str, *, state: str | None, active: bool, demo: bool, name: str | None = None
    ) -> Provider:
        app = self.next("provider", 99_000)
        provider = Provider(
            key, self.uuid(), app, name or f"Planted Agency {key}", self.uuid(), self.next("office", 99_000)
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
        columns: dict[str, Any] | None = None,
    ) -> str:
        """One CR row; returns its "Visit Id". Times are New York wall clock "HH:MM" on `day`. `columns`
        overrides source columns by name (bad input)."""
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
        self.out.rows["FACTVISITCALLPERFORMANCE_CR"].append(row | (columns or {}))
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

    # ------------------------------------------------------------------------------------------- cases
    @property
    def past(self) -> date:
        """The day before the anchor: completed visits and most cases."""
        return self.ctx.anchor_date - timedelta(days=1)

    @property
    def future(self) -> date:
        """Two days after the anchor: unstarted visits."""
        return self.ctx.anchor_date + timedelta(days=2)

    def scenario(
        self,
        name: str,
        description: str,
        spec: list[str],
        day: date,
        visits: list[VisitSpec],
        expect: Expect,
        *,
        stored_ssn: Callable[[str, str], str | None] | None = None,
        group_ssn: Any = DEFAULT,
    ) -> dict[str, str]:
        """A person with one caregiver record per agency used, and the case's visits on `day`."""
        ssn = self.new_ssn()
        records: dict[str, Caregiver] = {}
        ids: dict[str, str] = {}
        for role, key, kwargs in visits:
            if key not in records:
                records[key] = self.caregiver(
                    stored_ssn(ssn, key) if stored_ssn else ssn, self.providers[key]
                )
            ids[role] = self.visit(records[key], day, **kwargs)
        self.case(
            name,
            description=description,
            spec=spec,
            ssn=ssn if group_ssn is DEFAULT else group_ssn,
            day=day,
            roles=ids,
            expect=expect(ids),
        )
        return ids
