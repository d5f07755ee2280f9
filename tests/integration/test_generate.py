"""The synthetic source generator (`devkit.generate`) against the column contract and its own manifest.

The source tables are checked against the project's own data file `tests/contract/snowflake_source.toml`,
the source tables' names, columns and types restated from the legacy system's data model (see
`tests/contract/README.md`). Every planted case is re-derived from what the generator actually wrote to
the Snowflake emulation and PostgreSQL, with a small pure-Python statement of the rules (rules 1-7 and
the cross-state filter as amended by D4-D8 and D23, and the InService rule; docs/pipeline.md), and must
agree with the outcome the manifest promises. The bulk is checked for the distributions of the legacy
system's production data, including a conflict share of 10-14 % of the visits. Scales stay tiny
(0.0002-0.001) to keep the suite fast.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
import pytest

from devkit.emulation import create_source_schema, release_emulation
from devkit.generate import GenerateError, Manifest, generate, mutate
from visit_conflicts.source.connection import connect_source
from visit_conflicts.source.schema import SOURCE_TABLES, source_columns

CONTRACT_PATH = Path(__file__).resolve().parents[1] / "contract" / "snowflake_source.toml"
NY = ZoneInfo("America/New_York")
ANCHOR = datetime(2025, 6, 15, 6, 30, tzinfo=NY)
SMALL = 0.0002
CR = "FACTVISITCALLPERFORMANCE_CR"
DELETED = "FACTVISITCALLPERFORMANCE_DELETED_CR"
FLAGS = (
    "SameSchTimeFlag",
    "SameVisitTimeFlag",
    "SchAndVisitTimeSameFlag",
    "SchOverAnotherSchTimeFlag",
    "VisitTimeOverAnotherVisitTimeFlag",
    "SchTimeOverVisitTimeFlag",
    "DistanceFlag",
)
MPH = ((0, 2, 2.0), (2, 5, 6.0), (5, 10, 15.0), (10, 25, 25.0))
STATE_MAP = {"MISSISSIPPI": "MS", "NEW YORK": "NY", "PENNSYLVANIA": "PA", "LONG ISLAND": "LI"}


# --- helpers
def run_generate(
    source_dir: Path,
    pg: psycopg.Connection,
    *,
    scale: float = SMALL,
    seed: int = 7,
    anchor: datetime = ANCHOR,
) -> Manifest:
    release_emulation()
    return generate(source_dir, pg, scale=scale, seed=seed, anchor=anchor)


def frame(source_dir: Path, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Query result as a DataFrame (timestamps as UTC instants)."""
    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        cur.execute(query, params or {})
        return cur.fetch_pandas_all()
    finally:
        conn.close()


def table_digests(source_dir: Path) -> dict[str, str]:
    """A content hash per source table, independent of row order."""
    release_emulation()
    digests = {}
    for table in SOURCE_TABLES:
        df = frame(source_dir, f"SELECT * FROM {table}")
        # Sum of per-row hashes: independent of row order, sensitive to every value.
        row_hashes = pd.util.hash_pandas_object(df, index=False)
        digests[table] = f"{len(df)}:{int(row_hashes.sum()) & (2**64 - 1):016x}"
    release_emulation()
    return digests


def local(ts: Any) -> datetime | None:
    """New York wall-clock time of a TIMESTAMP_TZ value (naive), None for NULL."""
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert(NY).tz_localize(None).to_pydatetime()


def clean(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


# --- the column contract
def contract_tables() -> dict[str, dict[str, str | None]]:
    """Table -> column -> expected emulation type (None where the contract gives no type)."""
    with CONTRACT_PATH.open("rb") as f:
        contract = tomllib.load(f)["tables"]
    tables: dict[str, dict[str, str | None]] = {}
    for table, entry in contract.items():
        if "same_columns_as" in entry:
            continue
        columns = {c["name"]: c.get("type") for c in entry["columns"]}
        assert len(columns) == len(entry["columns"]), f"{CONTRACT_PATH.name} lists a column of {table} twice"
        tables[table] = columns
    for table, entry in contract.items():
        if "same_columns_as" in entry:
            tables[table] = dict(tables[entry["same_columns_as"]])
    return {table: tables[table] for table in contract}


# --- rules oracle
@dataclass(frozen=True)
class Visit:
    id: str
    app_id: str | None
    ssn: str | None  # trimmed; None when blank or NULL
    provider: str
    provider_ok: bool  # known, active, not demo
    provider_state: str | None
    day: date
    sch: tuple[datetime | None, datetime | None]
    act: tuple[datetime | None, datetime | None]
    missed: bool
    caregiver: str
    gps_out: str | None
    gps_in: str | None
    patient_point: tuple[float, float] | None
    p_state: str | None
    pa_state: str | None
    updated: datetime


@dataclass(frozen=True)
class Reference:
    window: tuple[date, date]
    cutoff: datetime
    excluded_ssns: frozenset[str]
    excluded_providers: frozenset[str]


def _latest_gps_address(addresses: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per "Patient Id": the newest primary GPS address (D8: newest, then the smallest id)."""
    usable = addresses[
        addresses["Primary Address"].fillna(False).astype(bool)
        & addresses["Address Type"].fillna("").str.contains("GPS")
    ]
    ordered = usable.sort_values(
        ["Patient Id", "Application Created UTC Timestamp", "Patient Address Id"],
        ascending=[True, False, True],
    )
    return {row["Patient Id"]: row for row in ordered.groupby("Patient Id").head(1).to_dict("records")}


def load_visits(source_dir: Path, where: str = "", params: dict[str, Any] | None = None) -> list[Visit]:
    cr = frame(source_dir, f"SELECT * FROM {CR} {where}", params)
    caregivers = frame(source_dir, 'SELECT "Caregiver Id", "SSN" FROM DIMCAREGIVER')
    providers = frame(source_dir, "SELECT * FROM DIMPROVIDER")
    addresses = _latest_gps_address(frame(source_dir, "SELECT * FROM DIMPATIENTADDRESS"))
    ssn_of: dict[str, str | None] = {}
    for cid, ssn in caregivers.itertuples(index=False):
        trimmed = clean(ssn).strip() if clean(ssn) is not None else None
        ssn_of[cid] = trimmed or None
    prov = {row["Provider Id"]: row for row in providers.to_dict("records")}
    times = {
        c: local_values(cr[c])
        for c in (
            "Visit Date",
            "Scheduled Start Time",
            "Scheduled End Time",
            "Visit Start Time",
            "Visit End Time",
        )
    }
    text = {
        c: [clean(x) for x in cr[c]]
        for c in (
            "Application Visit Id",
            "Provider Patient Id",
            "Payer Patient Id",
            "Call Out GPS Coordinates",
            "Call In GPS Coordinates",
        )
    }
    visits = []
    for i, (vid, caregiver, provider, missed, updated) in enumerate(
        zip(
            cr["Visit Id"],
            cr["Caregiver Id"],
            cr["Provider Id"],
            cr["Is Missed"],
            cr["Visit Updated Timestamp"],
            strict=True,
        )
    ):
        p = prov.get(provider)
        p_addr = addresses.get(text["Provider Patient Id"][i])
        pa_addr = addresses.get(text["Payer Patient Id"][i])
        visit_date = times["Visit Date"][i]
        assert visit_date is not None and visit_date.time() == datetime.min.time()
        visits.append(
            Visit(
                id=vid,
                app_id=text["Application Visit Id"][i],
                ssn=ssn_of.get(caregiver),
                provider=provider,
                provider_ok=p is not None and bool(p["Is Active"]) and not bool(p["Is Demo"]),
                provider_state=None if p is None else clean(p["Address State"]),
                day=visit_date.date(),
                sch=(times["Scheduled Start Time"][i], times["Scheduled End Time"][i]),
                act=(times["Visit Start Time"][i], times["Visit End Time"][i]),
                missed=bool(missed),
                caregiver=caregiver,
                gps_out=text["Call Out GPS Coordinates"][i],
                gps_in=text["Call In GPS Coordinates"][i],
                patient_point=None if p_addr is None else (p_addr["Latitude"], p_addr["Longitude"]),
                p_state=None if p_addr is None else clean(p_addr["Address State"]),
                pa_state=None if pa_addr is None else clean(pa_addr["Address State"]),
                updated=updated,
            )
        )
    return visits


def local_values(series: pd.Series) -> list[datetime | None]:
    """New York wall-clock times (naive) of a TIMESTAMP_TZ column, None for NULL."""
    values = series.dt.tz_convert(NY).dt.tz_localize(None).astype(object)
    return [None if v is pd.NaT or v is None else v for v in values]


def skip_reason(v: Visit, ref: Reference) -> str | None:
    """D23 reasons first, then the filters that silently drop a visit."""
    try:
        uuid.UUID(v.id)
        int(v.app_id or "")
    except ValueError:
        return "unparseable_id"
    for start, end in (v.sch, v.act):
        if start is not None and end is not None and end < start:
            return "end_before_start"
    if not ref.window[0] <= v.day <= ref.window[1]:
        return "date_outside_window"
    if v.ssn is None:
        return "blank_ssn"
    if v.ssn in ref.excluded_ssns:
        return "excluded_ssn"
    if v.provider in ref.excluded_providers:
        return "excluded_agency"
    if not v.provider_ok:
        return "inactive_or_demo_agency"
    return None


def _coordinates(v: Visit) -> tuple[float, float] | None:
    """D6: call-out GPS, then call-in GPS, then the provider-side patient's GPS address."""
    for text in (v.gps_out, v.gps_in):
        if text is None:
            continue
        parts = text.replace('"', "").split(",")
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    return v.patient_point


def miles_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return round(2 * 6_371_008.8 * math.asin(math.sqrt(h)) / 1_609.344 * 1.0, 2)


def speed(miles: float) -> float:
    return next((mph for lo, hi, mph in MPH if lo <= miles < hi), MPH[-1][2])


def rule_flags(v1: Visit, v2: Visit) -> list[str]:
    """D5-D7 for the ordered pair (v1, v2)."""
    u1, u2 = v1.act == (None, None), v2.act == (None, None)
    c1, c2 = None not in v1.act, None not in v2.act
    s1, s2, a1, a2 = v1.sch, v2.sch, v1.act, v2.act

    def equal(x: tuple[Any, Any], y: tuple[Any, Any]) -> bool:
        return None not in x and x == y

    def overlap(x: tuple[Any, Any], y: tuple[Any, Any]) -> bool:
        return None not in x and None not in y and x[0] < y[1] and x[1] > y[0]

    out = []
    if u1 and u2 and equal(s1, s2):
        out.append(FLAGS[0])
    if c1 and c2 and equal(a1, a2):
        out.append(FLAGS[1])
    if u1 and c2 and equal(s1, a2):
        out.append(FLAGS[2])
    if u1 and u2 and overlap(s1, s2) and not equal(s1, s2):
        out.append(FLAGS[3])
    if c1 and c2 and overlap(a1, a2) and not equal(a1, a2):
        out.append(FLAGS[4])
    if u1 and c2 and overlap(s1, a2) and not equal(s1, a2):
        out.append(FLAGS[5])
    p1, p2 = _coordinates(v1), _coordinates(v2)
    if c1 and c2 and p1 is not None and p2 is not None:
        start1, end1, start2, end2 = a1[0], a1[1], a2[0], a2[1]
        assert start1 and end1 and start2 and end2
        # D7: whole minutes from the earlier visit's end to the later one's start (0 if overlapping).
        later_start, earlier_end = (start2, end1) if start1 <= start2 else (start1, end2)
        gap = 0 if overlap(a1, a2) else int((later_start - earlier_end).total_seconds() // 60)
        miles = miles_between(p1, p2)
        if gap > 0 and miles / speed(miles) * 60 > gap:
            out.append(FLAGS[6])
    return out


def _final_states(v: Visit) -> tuple[str | None, str | None]:
    def norm(s: str | None) -> str | None:
        return (s or "").strip().upper() or None

    p, pa = norm(v.p_state), norm(v.pa_state)
    if p is None and pa is None:
        prov = norm(v.provider_state)
        return prov, prov
    return STATE_MAP.get(p or "", p), STATE_MAP.get(pa or "", pa)


def cross_state_keeps(v1: Visit, v2: Visit) -> bool:
    left, right = _final_states(v1), _final_states(v2)
    if left == (None, None) or right == (None, None):
        return True
    return any(a is not None and a == b for a in left for b in right)


def expected_pairs(
    visits: list[Visit], ref: Reference, *, delta: bool = True
) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[date, str], list[Visit]] = defaultdict(list)
    for v in visits:
        if skip_reason(v, ref) is None:
            assert v.ssn is not None
            groups[(v.day, v.ssn)].append(v)
    pairs: dict[tuple[str, str], list[str]] = {}
    for members in groups.values():
        if delta and not any(v.updated >= ref.cutoff for v in members):
            continue
        for v1 in members:
            for v2 in members:
                if v1.provider == v2.provider or v1.id == v2.id:
                    continue
                flags = rule_flags(v1, v2)
                if flags and cross_state_keeps(v1, v2):
                    pairs[(v1.id, v2.id)] = flags
    return pairs


def expected_inservice_pairs(source_dir: Path, visits: list[Visit], ref: Reference) -> set[tuple[str, str]]:
    """The InService rule (D14) for the given visits against every InService event of their SSNs."""
    events = frame(source_dir, "SELECT * FROM FACTCAREGIVERINSERVICE")
    caregivers = frame(source_dir, 'SELECT "Caregiver Id", "SSN" FROM DIMCAREGIVER')
    providers = frame(source_dir, "SELECT * FROM DIMPROVIDER").set_index("Provider Id")
    ssn_of = {c: (clean(s) or "").strip() or None for c, s in caregivers.itertuples(index=False)}
    usable_events = []
    for e in events.to_dict("records"):
        start, end = local(e["Inservice start date"]), local(e["Inservice end date"])
        assert start is not None and end is not None
        provider = providers.loc[e["Provider Id"]]
        ssn = ssn_of.get(e["Caregiver Id"])
        if (
            ssn
            and ssn not in ref.excluded_ssns
            and e["Provider Id"] not in ref.excluded_providers
            and bool(provider["Is Active"])
            and not bool(provider["Is Demo"])
            and ref.window[0] <= start.date() <= ref.window[1]
        ):
            vid = hashlib.md5(f"I{e['Application Caregiver Inservice Id']}".encode()).hexdigest()
            usable_events.append((vid, e["Caregiver Id"], e["Provider Id"], ssn, start, end))
    with_events = {caregiver for _, caregiver, *_ in usable_events}
    pairs = set()
    for v in visits:
        if skip_reason(v, ref) is not None or v.missed or None in v.act or v.caregiver not in with_events:
            continue
        start, end = v.act
        assert start is not None and end is not None
        if any(
            c == v.caregiver and p == v.provider and start <= e1 and end >= e0
            for _, c, p, _, e0, e1 in usable_events
        ):
            continue  # overlaps a training of its own record at its own agency: not eligible
        for vid, _, provider, ssn, e0, e1 in usable_events:
            if ssn == v.ssn and provider != v.provider and start <= e1 and end >= e0:
                pairs |= {(v.id, vid), (vid, v.id)}
    return pairs


def reference(manifest: Manifest, pg: psycopg.Connection) -> Reference:
    ssns = frozenset(
        s.strip() for (s,) in pg.execute('SELECT "SSN" FROM excluded_ssn WHERE "SSN" IS NOT NULL')
    )
    agencies = frozenset(
        str(p)
        for (p,) in pg.execute('SELECT "ProviderID" FROM excluded_agency WHERE "ProviderID" IS NOT NULL')
    )
    window = (date.fromisoformat(manifest["window"]["start"]), date.fromisoformat(manifest["window"]["end"]))
    return Reference(window, datetime.fromisoformat(manifest["delta_cutoff"]), ssns, agencies)


def case_visits(source_dir: Path, manifest: Manifest) -> dict[str, list[Visit]]:
    """Visits of each case's group: its own visits plus every other visit of its SSN on its date."""
    by_id = {v.id: v for v in load_visits(source_dir)}
    out = {}
    for name, case in manifest.cases.items():
        own = [by_id[v] for v in case["visits"]]
        ssns = {v.ssn for v in own if v.ssn}
        others = [v for v in by_id.values() if v.ssn in ssns and v.day.isoformat() == case["date"]]
        out[name] = list({v.id: v for v in own + others}.values())
    return out


def _planted_ids(manifest: Manifest) -> list[str]:
    return [v for case in manifest.cases.values() for v in case["visits"]]


# --- tests
def test_source_tables_match_the_contract(source_dir: Path) -> None:
    """Every table and column of the source contract, with exact names and the contract's types."""
    expected = contract_tables()
    assert set(expected) == set(SOURCE_TABLES)
    conn = connect_source(source_dir)
    try:
        create_source_schema(conn)
        create_source_schema(conn)  # idempotent
        cur = conn.cursor()
        for table, columns in expected.items():
            cur.execute(f"DESCRIBE TABLE {table}")
            actual = {row[0]: row[1] for row in cur.fetchall()}
            assert set(actual) == set(columns), table
            assert [name for name, _ in source_columns(table)] == list(actual), table
            for name, sf_type in columns.items():
                if sf_type is None:
                    assert actual[name] in ("NUMBER(38,0)", "VARCHAR(16777216)", "VARCHAR(50)"), (table, name)
                else:
                    assert actual[name] == sf_type, (table, name)
    finally:
        conn.close()


def test_generate_is_deterministic_per_seed(tmp_path: Path, pg: psycopg.Connection) -> None:
    """Same seed, scale and anchor: byte-identical manifest and identical tables; another seed differs."""
    first = run_generate(tmp_path / "a", pg, seed=11)
    second = run_generate(tmp_path / "b", pg, seed=11)
    other = run_generate(tmp_path / "c", pg, seed=12)
    release_emulation()
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    assert first.to_json() == second.to_json()
    digests_a, digests_b, digests_c = (table_digests(tmp_path / d) for d in "abc")
    assert digests_a == digests_b
    assert all(digests_a[t] != digests_c[t] for t in SOURCE_TABLES)
    assert other.to_json() != first.to_json()
    assert other.cases.keys() == first.cases.keys()


def test_row_counts_scale_linearly(tmp_path: Path, pg: psycopg.Connection) -> None:
    """Bulk visit, deleted-visit and InService counts are proportional to the scale factor."""
    small = run_generate(tmp_path / "s", pg, scale=0.0002)
    large = run_generate(tmp_path / "l", pg, scale=0.0006)
    release_emulation()
    for table in (CR, DELETED, "FACTCAREGIVERINSERVICE"):
        planted = small["planted_counts"].get(table, 0)
        assert large["planted_counts"].get(table, 0) == planted
        ratio = (large["counts"][table] - planted) / (small["counts"][table] - planted)
        assert 2.7 < ratio < 3.3, (table, ratio)
    # Production volume: ~75K visits a day over the window (the legacy system's production figures).
    days = (
        date.fromisoformat(small["window"]["end"]) - date.fromisoformat(small["window"]["start"])
    ).days + 1
    assert small["bulk"]["visits_in_window"] == pytest.approx(75_000 * 0.0002 * days, rel=0.05)


# The second anchor is the day after clocks go back: the 36-hour delta window spans the change.
@pytest.mark.parametrize("anchor", [ANCHOR, datetime(2025, 11, 3, 0, 30, tzinfo=NY)], ids=["june", "dst-end"])
def test_planted_cases_agree_with_the_rules(
    source_dir: Path, pg: psycopg.Connection, anchor: datetime
) -> None:
    """D4-D8, D23, rules 1-7, the cross-state filter and InService (C.2) reproduce every promised outcome."""
    manifest = run_generate(source_dir, pg, anchor=anchor)
    cutoff = datetime.fromisoformat(manifest["delta_cutoff"])
    assert anchor - cutoff == timedelta(hours=36)  # elapsed time, whatever the wall clocks did
    ref = reference(manifest, pg)
    groups = case_visits(source_dir, manifest)
    assert len(manifest.cases) >= 60
    for name, case in manifest.cases.items():
        expect = case["expect"]
        visits = groups[name]
        promised = {(p["visit"], p["con_visit"]): p["flags"] for p in expect["pairs"]}
        assert expected_pairs(visits, ref) == promised, name
        if "pairs_full_window" in expect:
            full = {(p["visit"], p["con_visit"]): p["flags"] for p in expect["pairs_full_window"]}
            assert expected_pairs(visits, ref, delta=False) == full, name
        if "inservice_pairs" in expect:
            promised_is = {(p["visit"], p["con_visit"]) for p in expect["inservice_pairs"]}
            assert expected_inservice_pairs(source_dir, visits, ref) == promised_is, name
        if "skipped" in expect:
            by_id = {v.id: v for v in visits}
            for vid in expect["skipped"]["visits"]:
                assert skip_reason(by_id[vid], ref) == expect["skipped"]["reason"], name
            if expect["skipped"]["reason"] != "blank_ssn":  # the skip matters: read naively, they conflict
                v1, v2 = (by_id[vid] for vid in case["roles"].values())
                assert rule_flags(v1, v2) or rule_flags(v2, v1), name
        for p in expect["pairs"]:
            if "distance_miles" in p:
                assert p["eta_minutes"] == pytest.approx(p["distance_miles"] / p["mph"] * 60, abs=0.01)
                assert ("DistanceFlag" in p["flags"]) == (p["eta_minutes"] > p["gap_minutes"] > 0), name


def test_planted_cases_have_their_claimed_properties(source_dir: Path, pg: psycopg.Connection) -> None:
    """Spot checks straight on the source rows: boundaries, exclusions, agencies, deletions, fan-out."""
    manifest = run_generate(source_dir, pg)
    cases = manifest.cases
    visits = {v.id: v for v in load_visits(source_dir)}
    ref = reference(manifest, pg)

    def roles(name: str) -> tuple[Visit, ...]:
        return tuple(visits[v] for v in cases[name]["roles"].values())

    v1, v2 = roles("touching_visits_no_overlap")
    assert v1.act[1] == v2.act[0] and None not in v1.act + v2.act
    v1, v2 = roles("touching_schedules_no_overlap")
    assert v1.sch[1] == v2.sch[0] and v1.act == v2.act == (None, None)
    v1, v2 = roles("rule1_same_schedule")
    assert v1.sch == v2.sch and v1.provider != v2.provider and v1.ssn == v2.ssn
    v1, v2 = roles("rule2_same_visit_time")
    assert v1.act == v2.act and v1.sch != v2.sch
    (v1, _) = roles("partial_visit_start_only")
    assert v1.act[0] is not None and v1.act[1] is None
    (v1, _) = roles("missed_visit_conflict")
    assert v1.missed and v1.act == (None, None)
    assert cases["excluded_ssn"]["ssn"] in ref.excluded_ssns
    assert cases["excluded_ssn_padded_in_dimension"]["ssn"] in ref.excluded_ssns
    padded = frame(
        source_dir,
        'SELECT "SSN" FROM DIMCAREGIVER WHERE TRIM("SSN") = %(s)s',
        {"s": cases["excluded_ssn_padded_in_dimension"]["ssn"]},
    )
    assert all(s != s.strip() for s in padded["SSN"])
    assert roles("excluded_agency")[0].provider in ref.excluded_providers
    providers = frame(source_dir, "SELECT * FROM DIMPROVIDER").set_index("Provider Id")
    assert not providers.loc[roles("inactive_agency")[0].provider, "Is Active"]
    assert providers.loc[roles("demo_agency")[0].provider, "Is Demo"]
    assert len(ref.excluded_providers) == 3 == len(manifest["reference"]["excluded_agency"])

    deleted = frame(source_dir, f"SELECT * FROM {DELETED}").set_index("Visit Id")
    for name, in_delta in (("deleted_visit_with_conflict", True), ("deleted_visit_outside_delta", False)):
        vid = cases[name]["roles"]["v1"]
        assert vid in visits and bool(deleted.loc[vid, "Permanent Deleted"])
        assert (pd.Timestamp(deleted.loc[vid, "Visit Updated Timestamp"]) >= ref.cutoff) is in_delta

    for name, table, column in (
        ("fanout_duplicate_office_rows", "DIMOFFICE", "Office Id"),
        ("fanout_duplicate_caregiver_rows", "DIMCAREGIVER", "Caregiver Id"),
        ("fanout_duplicate_patient_rows", "DIMPATIENT", "Patient Id"),
    ):
        source_column = {"Patient Id": "Provider Patient Id"}.get(column, column)
        key = frame(
            source_dir,
            f'SELECT "{source_column}" FROM {CR} WHERE "Visit Id" = %(v)s',
            {"v": cases[name]["roles"]["v1"]},
        ).iloc[0, 0]
        dims = frame(source_dir, f'SELECT COUNT(*) AS n FROM {table} WHERE "{column}" = %(k)s', {"k": key})
        assert dims.iloc[0, 0] == 2, name
    addresses = frame(source_dir, "SELECT * FROM DIMPATIENTADDRESS")
    for name in ("fanout_patient_address_newest_wins", "fanout_patient_address_tie_smallest_id"):
        vid = cases[name]["roles"]["v1"]
        rows = addresses[
            addresses["Patient Id"]
            == frame(
                source_dir, f'SELECT "Provider Patient Id" FROM {CR} WHERE "Visit Id" = %(v)s', {"v": vid}
            ).iloc[0, 0]
        ]
        assert len(rows) >= 3 and rows["Address Type"].str.contains("GPS").sum() >= 2, name
        assert list(visits[vid].patient_point or ()) == cases[name]["expect"]["coordinates"][vid], name

    assert skip_reason(roles("bad_unparseable_visit_id")[0], ref) == "unparseable_id"
    v1, _ = roles("bad_visit_end_before_start")
    assert v1.act[0] and v1.act[1] and v1.act[1] < v1.act[0]
    assert all(v.ssn is None for v in roles("bad_blank_ssn") + roles("bad_null_ssn"))
    assert roles("bad_date_before_window")[0].day == ref.window[0] - timedelta(days=1)
    assert roles("window_end_inclusive")[0].day == ref.window[1]

    for name, case in cases.items():  # the manifest's wall-clock times are what the emulation holds
        for vid, detail in case["visit_details"].items():
            v = visits[vid]
            assert detail["scheduled"] == [t.isoformat() if t else None for t in v.sch], name
            assert detail["actual"] == [t.isoformat() if t else None for t in v.act], name
            assert detail["is_missed"] == v.missed and v.day.isoformat() == case["date"], name

    stale_by_design = {"conflict_outside_delta", "delta_one_side_only"}
    for name, case in cases.items():
        for role, vid in case["roles"].items():
            in_delta = visits[vid].updated >= ref.cutoff
            assert in_delta or (name in stale_by_design), (name, role)
            assert visits[vid].updated <= ANCHOR
    events = frame(source_dir, "SELECT * FROM FACTCAREGIVERINSERVICE")
    synthetic = {
        hashlib.md5(f"I{a}".encode()).hexdigest() for a in events["Application Caregiver Inservice Id"]
    }
    for name, case in cases.items():
        assert set(case["inservice_events"].values()) <= synthetic, name


def test_reference_tables_are_replaced(source_dir: Path, pg: psycopg.Connection) -> None:
    """settings row 0, the four mph bands, and the exclusion lists (twice: replaced, not appended)."""
    run_generate(source_dir, pg)
    manifest = run_generate(source_dir, pg)
    assert pg.execute('SELECT "ExtraDistancePer" FROM settings WHERE "ID" = 0').fetchone() == (1.0,)
    bands = pg.execute('SELECT "From", "To", "AverageMilesPerHour" FROM mph ORDER BY "From"').fetchall()
    assert bands == [(0, 2, 2.0), (2, 5, 6.0), (5, 10, 15.0), (10, 25, 25.0)]
    (count,) = pg.execute("SELECT COUNT(*) FROM excluded_ssn").fetchone() or (0,)
    assert count == manifest["reference"]["excluded_ssn_count"] >= 2
    assert pg.execute('SELECT MIN("ID") FROM excluded_ssn').fetchone() == (1,)
    (agencies,) = pg.execute("SELECT COUNT(*) FROM excluded_agency").fetchone() or (0,)
    assert agencies == 3


def test_bulk_distributions_are_realistic(source_dir: Path, pg: psycopg.Connection) -> None:
    """Production-like data: shifts, quarter hours, GPS, billing, and 10-14 % conflicting visits."""
    manifest = run_generate(source_dir, pg, scale=0.001)
    cr = frame(source_dir, f'SELECT * FROM {CR} WHERE "Application Visit Id" < %(p)s', {"p": "990000000"})
    to_local = {
        c: cr[c].dt.tz_convert(NY) for c in ("Scheduled Start Time", "Scheduled End Time", "Visit Date")
    }
    hours = (to_local["Scheduled End Time"] - to_local["Scheduled Start Time"]).dt.total_seconds() / 3600
    assert hours.between(4, 12).all()
    assert (to_local["Scheduled Start Time"].dt.minute % 15 == 0).all()
    assert (to_local["Scheduled Start Time"].dt.second == 0).all()
    assert (to_local["Scheduled Start Time"].dt.normalize() == to_local["Visit Date"]).all()
    future = to_local["Visit Date"].dt.date > ANCHOR.date()
    assert cr.loc[future, "Visit Start Time"].isna().all() and cr.loc[future, "Visit End Time"].isna().all()
    assert (cr.loc[future, "Billed"] == "no").all()
    billed = cr["Billed"] == "yes"
    assert 0.6 < billed.mean() < 0.95 and set(cr["Billed"]) == {"yes", "no"}
    assert cr.loc[billed, "Total Billed Amount"].notna().all()
    bill_types = cr["Bill Type"].value_counts(normalize=True)
    assert bill_types["Hourly"] > 0.8 and bill_types["Daily"] > 0.02 and bill_types["Visit"] > 0.02
    hourly = billed & (cr["Bill Type"] == "Hourly")
    assert cr.loc[hourly, "Billed Rate"].astype(float).between(25, 30).all()
    called = cr["Call In Time"].notna()
    gps_missing = ~cr.loc[called, "Call In GPS Coordinates"].fillna("").str.contains(r"\d", regex=True)
    assert 0.35 < gps_missing.mean() < 0.6
    points = cr["Call Out GPS Coordinates"].dropna().str.replace('"', "").str.split(",", expand=True)
    points = points[points[0] != ""].astype(float)
    assert points[0].between(40.4, 43.1).all() and points[1].between(-79.0, -73.6).all()
    assert cr["Is Missed"].mean() == pytest.approx(0.028, abs=0.01)
    delta_share = (cr["Visit Updated Timestamp"] >= pd.Timestamp(manifest["delta_cutoff"])).mean()
    assert 0.001 < delta_share < 0.02  # a realistic daily delta (0.1-1 % of the window a day)
    assert (cr["Visit Updated Timestamp"] <= pd.Timestamp(ANCHOR)).all()

    # Conflict share: the rules oracle over every group with visits at two or more agencies.
    ref = reference(manifest, pg)
    visits = [
        v for v in load_visits(source_dir) if v.app_id and v.app_id.isdigit() and int(v.app_id) < 990_000_000
    ]
    usable = [v for v in visits if skip_reason(v, ref) is None]
    pairs = expected_pairs(usable, ref, delta=False)
    conflicting = {vid for key in pairs for vid in key}
    share = len(conflicting) / len(usable)
    assert 0.10 <= share <= 0.14, share
    persons = defaultdict(set)
    for v in visits:
        if v.ssn:
            persons[v.ssn].add(v.provider)
    multi = sum(1 for providers in persons.values() if len(providers) > 1)
    assert multi >= 0.1 * len(persons)


def test_mutate_changes_a_fraction_after_the_previous_anchor(
    source_dir: Path, pg: psycopg.Connection
) -> None:
    """The next night's changes carry timestamps in (previous anchor, new anchor] and leave planted
    visits: moves, missed visits, deletions, re-saves, the day entering the window and extra shifts."""
    manifest = run_generate(source_dir, pg, scale=0.001)
    before = manifest["counts"]
    new_anchor = ANCHOR + timedelta(days=1)
    summary = mutate(source_dir, seed=3, anchor=new_anchor, fraction=0.01)
    detail = json.loads((source_dir / summary["visit_ids_file"]).read_text())
    assert summary["moved"] > 0 and summary["missed"] > 0 and summary["deleted"] > 0
    assert summary["restamped"] > 0 and summary["window_day_visits"] > 0 and summary["extra_shift_visits"] > 0
    touched = detail["move"] + detail["missed"] + detail["delete"] + detail["restamp"]
    assert len(set(touched)) == len(touched)
    assert not set(touched) & set(_planted_ids(manifest))
    cr = frame(source_dir, f"SELECT * FROM {CR}").set_index("Visit Id")
    deleted = frame(source_dir, f"SELECT * FROM {DELETED}").set_index("Visit Id")
    added = detail["window_day"] + detail["extra_shift"]
    assert summary["counts"][CR] == before[CR] - summary["deleted"] + len(added)
    assert summary["counts"][DELETED] == before[DELETED] + summary["deleted"]
    assert not set(detail["delete"]) & set(cr.index)
    assert deleted.loc[detail["delete"], "Permanent Deleted"].all()
    changed = detail["move"] + detail["missed"] + detail["restamp"] + added
    for ids, table in ((changed, cr), (detail["delete"], deleted)):
        stamps = table.loc[ids, "Visit Updated Timestamp"]
        assert (stamps > pd.Timestamp(ANCHOR)).all() and (stamps <= pd.Timestamp(new_anchor)).all()
    assert cr.loc[detail["missed"], "Is Missed"].all()
    moved = cr.loc[detail["move"]]
    start_day = moved["Scheduled Start Time"].dt.tz_convert(NY).dt.normalize()
    assert (start_day == moved["Visit Date"].dt.tz_convert(NY)).all()  # a move keeps the visit on its date
    # The date that entered the window is booked; extra shifts fall after the new anchor's date.
    window_end = (new_anchor + timedelta(days=45)).date()
    new_dates = cr.loc[detail["window_day"], "Visit Date"].dt.tz_convert(NY).dt.date
    assert (new_dates == window_end).all()
    extra_dates = cr.loc[detail["extra_shift"], "Visit Date"].dt.tz_convert(NY).dt.date
    assert (extra_dates > new_anchor.date()).all() and (extra_dates <= window_end).all()
    # Nothing else moved past the first anchor.
    untouched = cr.drop(index=changed)
    assert (untouched["Visit Updated Timestamp"] <= pd.Timestamp(ANCHOR)).all()
    reloaded = Manifest.load(source_dir)
    assert reloaded["mutations"][-1] == summary
    with pytest.raises(GenerateError):
        mutate(source_dir, seed=3, anchor=new_anchor, fraction=0.01)  # not after the previous anchor


def test_bulk_refresh_resaves_most_of_the_window(source_dir: Path, pg: psycopg.Connection) -> None:
    """Profile `bulk`: besides the nightly changes, `fraction` of the window's visits re-saved at one
    instant after the previous anchor, so most groups of the window are in the next run's delta."""
    manifest = run_generate(source_dir, pg, scale=0.0005)
    new_anchor = ANCHOR + timedelta(days=1)
    summary = mutate(source_dir, seed=4, anchor=new_anchor, profile="bulk")
    assert summary["profile"] == "bulk" and summary["fraction"] == 0.8
    cr = frame(source_dir, f"SELECT * FROM {CR}")
    in_window = cr["Visit Date"] >= pd.Timestamp(manifest["window"]["start"]).tz_localize(NY)
    fresh = cr["Visit Updated Timestamp"] > pd.Timestamp(ANCHOR)
    assert fresh[in_window].mean() == pytest.approx(0.8, abs=0.05)
    assert summary["restamped"] == pytest.approx(0.8 * in_window.sum(), rel=0.05)


def test_generate_refuses_bad_arguments(source_dir: Path, pg: psycopg.Connection) -> None:
    """A naive anchor or a non-positive scale is rejected before anything is written."""
    with pytest.raises(GenerateError, match="time zone"):
        generate(source_dir, pg, scale=SMALL, seed=1, anchor=datetime(2025, 6, 15, 6, 30))
    with pytest.raises(GenerateError, match="scale"):
        generate(source_dir, pg, scale=0, seed=1, anchor=ANCHOR)
    assert not (source_dir / "manifest.json").exists()


@pytest.fixture(autouse=True)
def _unbind_emulation() -> Iterator[None]:
    # Tests here bind several source directories in turn; leave the process unbound for the next test.
    yield
    release_emulation()
