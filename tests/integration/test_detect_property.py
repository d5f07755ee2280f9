"""Property test: the SQL conflict engine agrees with the pure-Python statement of the rules.

Hypothesis draws 1-3 small groups (one SSN each, one date, 2-5 visits at 2-3 providers) with
schedules and actual times on a 15-minute grid (missing, partial, touching and equal times included),
GPS text that is valid, quoted, out of range, garbage or missing, patient-address fallbacks, patient
and provider states, and several speed-band tables. The pairs, flags and travel metrics that
`iter_pairs` returns must equal `devkit.rules.conflicts_of_group` on the same visits (D4-D7, the
legacy's rules and cross-state filter).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devkit import rules
from tests.support.source_rows import OLD, RECENT, SourceRows, at, detect_pairs, pair_map
from visit_conflicts.columns import FLAG_COLUMNS
from visit_conflicts.source.connection import connect_source
from visit_conflicts.store.reference import ReferenceData

POINTS = [
    (40.70, -73.90),
    (40.72, -73.90),
    (40.75, -73.95),
    (40.80, -74.00),
    (40.90, -74.10),
    (41.10, -74.30),
    (41.70, -74.50),
]
BAND_TABLES: list[tuple[tuple[float, float, float], ...]] = [
    ((0, 2, 2), (2, 5, 6), (5, 10, 15), (10, 25, 25), (25, 50, 45)),
    ((0, 2, 2), (2, 5, 6), (5, 10, 15), (10, 25, 25)),
    ((0, 2, 2), (5, 10, 15)),  # a gap between bands
    ((0, 10, 10), (5, 20, 20)),  # overlapping bands
    (),
]

# 08:00 .. 09:30 in 15-minute steps, and short intervals: equal, touching and overlapping times are common.
slot = st.integers(min_value=0, max_value=6)


def grid(k: int) -> datetime:
    return at(8) + timedelta(minutes=15 * k)


@st.composite
def interval(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start = draw(slot)
    length = draw(st.integers(min_value=0, max_value=3))
    return grid(start), grid(start + length)


@st.composite
def schedule(draw: st.DrawFn) -> tuple[datetime | None, datetime | None]:
    start, end = draw(interval())
    kind = draw(st.sampled_from(["both"] * 8 + ["no_start", "no_end"]))
    return (None if kind == "no_start" else start), (None if kind == "no_end" else end)


@st.composite
def actual_times(
    draw: st.DrawFn, sch: tuple[datetime | None, datetime | None]
) -> tuple[datetime | None, datetime | None]:
    """Unstarted, completed (often exactly as scheduled, which rules 2 and 3 need), or partial."""
    kind = draw(st.sampled_from(["unstarted"] * 4 + ["as_scheduled"] * 2 + ["completed"] * 3 + ["partial"]))
    if kind == "unstarted":
        return None, None
    if kind == "as_scheduled" and sch[0] is not None and sch[1] is not None:
        return sch
    start, end = draw(interval())
    if kind == "partial":
        return draw(st.sampled_from([(start, None), (None, end)]))
    return start, end


@st.composite
def gps_text(draw: st.DrawFn) -> str | None:
    lat, lon = draw(st.sampled_from(POINTS))
    return draw(
        st.sampled_from(
            [
                None,
                f"{lat},{lon}",
                f"{lat},{lon}",
                f'"{lat}","{lon}"',
                f"{lat}, {lon}",
                f"{lat + 60},{lon}",  # latitude out of range
                f"{lat},{lon - 120}",  # longitude out of range
                "abc,def",
                ",",
                "",
                f"{lat}",
            ]
        )
    )


# Mostly compatible states, so that the cross-state filter drops some pairs but not most.
STATES = [None, None, None, "NY", "ny ", "New York", "NJ", " "]


@dataclass(frozen=True)
class VisitSpec:
    provider: int
    sch: tuple[datetime | None, datetime | None]
    actual: tuple[datetime | None, datetime | None]
    call_out_gps: str | None
    call_in_gps: str | None
    address: tuple[float, float] | None
    patient_state: str | None
    payer_patient_state: str | None
    recent: bool


@st.composite
def visit_spec(draw: st.DrawFn) -> VisitSpec:
    sch = draw(schedule())
    return VisitSpec(
        provider=draw(st.integers(min_value=0, max_value=2)),
        sch=sch,
        actual=draw(actual_times(sch)),
        call_out_gps=draw(gps_text()),
        call_in_gps=draw(gps_text()),
        address=draw(st.one_of(st.none(), st.sampled_from(POINTS))),
        patient_state=draw(st.sampled_from(STATES)),
        payer_patient_state=draw(st.sampled_from(STATES)),
        recent=draw(st.sampled_from([True, True, False])),
    )


@pytest.fixture
def source(source_dir: Path) -> Iterator[SourceRows]:
    conn = connect_source(source_dir)
    try:
        yield SourceRows(conn)
    finally:
        conn.close()


@dataclass(frozen=True)
class GroupSpec:
    visits: list[VisitSpec]
    provider_states: tuple[str | None, str | None, str | None]


group_spec = st.builds(
    GroupSpec,
    visits=st.lists(visit_spec(), min_size=2, max_size=5),
    provider_states=st.tuples(*[st.sampled_from([None, "NY", "NY", "NY", "NJ"])] * 3),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    groups=st.lists(group_spec, min_size=1, max_size=3),
    bands=st.sampled_from(BAND_TABLES),
    extra_distance_per=st.sampled_from([1.0, 1.2000000476837158, 0.5]),
)
def test_sql_detection_matches_the_rules(
    source: SourceRows,
    groups: list[GroupSpec],
    bands: tuple[tuple[float, float, float], ...],
    extra_distance_per: float,
) -> None:
    """D4-D7, the rules and the cross-state filter: for any small groups (each its own SSN), the SQL
    pairs, flags, distance, speed, ETA and minute gap equal those of devkit.rules."""
    source.truncate()
    expected_results: list[tuple[rules.PairResult, dict[str, rules.Visit]]] = []
    for n, group in enumerate(groups):
        oracle_visits = _write_group(source, f"321-54-{n:04d}", group)
        if any(spec.recent for spec in group.visits):  # D4: only groups with a delta visit
            by_id = {v.visit_id: v for v in oracle_visits}
            expected_results += [
                (r, by_id) for r in rules.conflicts_of_group(oracle_visits, bands, extra_distance_per)
            ]
    source.flush()

    ref = ReferenceData((), (), bands, extra_distance_per)
    got = {key: _observed(row) for key, row in pair_map(detect_pairs(source.conn, ref=ref)).items()}
    expected = {(r.visit_id, r.con_visit_id): _expected(r, by_id) for r, by_id in expected_results}

    for row in expected.values():
        for column, flag in zip(FLAG_COLUMNS, row[0], strict=True):
            if flag == "Y":
                event(f"{column} = Y")
    event(f"{min(len(expected), 10)}{'+' if len(expected) >= 10 else ''} conflict pairs")
    assert got == expected


def _write_group(source: SourceRows, ssn: str, group: GroupSpec) -> list[rules.Visit]:
    """Insert one group's visits (one caregiver record per agency, same SSN); return the oracle's view."""
    providers = [source.provider(state=s) for s in group.provider_states]
    caregivers = [source.caregiver(ssn) for _ in providers]
    oracle_visits = []
    for i, spec in enumerate(group.visits):
        if i < 2:  # the first two visits are at different agencies, so every group has candidates
            spec = replace(spec, provider=i)
        lat, lon = spec.address if spec.address else (None, None)
        patient = source.patient(state=spec.patient_state, latitude=lat, longitude=lon)
        payer_patient = source.patient(state=spec.payer_patient_state)
        visit_id = source.visit(
            provider=providers[spec.provider],
            caregiver=caregivers[spec.provider],
            sch=spec.sch,
            actual=spec.actual,
            call_out_gps=spec.call_out_gps,
            call_in_gps=spec.call_in_gps,
            patient=patient,
            payer_patient=payer_patient,
            updated=RECENT if spec.recent else OLD,
        )
        coordinates = rules.visit_coordinates(spec.call_out_gps, spec.call_in_gps, lat, lon)
        oracle_visits.append(
            rules.Visit(
                visit_id=visit_id,
                provider_id=providers[spec.provider],
                sch_start=spec.sch[0],
                sch_end=spec.sch[1],
                visit_start=spec.actual[0],
                visit_end=spec.actual[1],
                latitude=coordinates[0] if coordinates else None,
                longitude=coordinates[1] if coordinates else None,
                patient_state=spec.patient_state,
                payer_patient_state=spec.payer_patient_state,
                provider_state=group.provider_states[spec.provider],
            )
        )
    return oracle_visits


def _observed(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        tuple(row[c] for c in FLAG_COLUMNS),
        row["DistanceMilesFromLatLng"],
        row["AverageMilesPerHour"],
        row["ETATravelMinutes"],
        row["MinuteDiffBetweenSch"],
        (row["PLatitude"], row["PLongitude"]),
        (row["ConPLatitude"], row["ConPLongitude"]),
    )


def _expected(result: rules.PairResult, by_id: dict[str, rules.Visit]) -> tuple[Any, ...]:
    v1, v2 = by_id[result.visit_id], by_id[result.con_visit_id]
    return (
        result.flags,
        result.distance_miles,
        result.average_miles_per_hour,
        result.eta_travel_minutes,
        result.minute_diff,
        (v1.latitude, v1.longitude),
        (v2.latitude, v2.longitude),
    )
