"""Scenario tests of the Snowflake-side detection (sql/snowflake/detect) on the emulation.

Each test builds a tiny source in the emulation and checks the pairs, groups or skip counts that the
detection produces. Docstrings cite the decision (docs/legacy-differences.md) or the rule
(docs/pipeline.md, "Detection rules").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from devkit import rules
from tests.support.source_rows import (
    BUSINESS_TZ,
    CUTOFF,
    MPH_BANDS,
    NO_REFERENCE,
    OLD,
    RECENT,
    VISIT_DATE,
    SourceRows,
    at,
    delta_groups,
    detect_pairs,
    pair_map,
    scope,
    skipped,
)
from visit_conflicts.columns import FLAG_COLUMNS, PAIR_COLUMNS
from visit_conflicts.source.common import SourceQueryError, SourceScope, chunk_of
from visit_conflicts.source.connection import connect_source
from visit_conflicts.source.plan import NOTE_PREFIX, NOTES, SKIP_REASONS
from visit_conflicts.store.reference import ReferenceData, load_reference_data

SSN = "123-45-6789"


@pytest.fixture
def conn(source_dir: Path) -> Iterator[Any]:
    connection = connect_source(source_dir)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def src(conn: Any) -> SourceRows:
    return SourceRows(conn)


def two_agencies(src: SourceRows, ssn: str = SSN) -> tuple[str, str, str, str]:
    """Two active providers and one caregiver record at each for the same person."""
    p1, p2 = src.provider(), src.provider()
    return p1, p2, src.caregiver(ssn), src.caregiver(ssn)


def flags(row: dict[str, Any]) -> dict[str, str]:
    return {c: row[c] for c in FLAG_COLUMNS}


def only(flag: str | None) -> dict[str, str]:
    return {c: ("Y" if c == flag else "N") for c in FLAG_COLUMNS}


# -- rule 1 ----------------------------------------------------------------------------------------


def test_rule1_identical_schedules_of_unstarted_visits(conn: Any, src: SourceRows) -> None:
    """Rule 1: both unstarted with equal schedules -> SameSchTimeFlag only (rule 4 excludes the exact
    match); D4: both orientations are produced."""
    p1, p2, c1, c2 = two_agencies(src)
    a = src.visit(provider=p1, caregiver=c1, sch=(at(9), at(13)))
    b = src.visit(provider=p2, caregiver=c2, sch=(at(9), at(13)), updated=OLD)
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    assert set(pairs) == {(a, b), (b, a)}
    assert flags(pairs[(a, b)]) == only("SameSchTimeFlag")
    assert flags(pairs[(b, a)]) == only("SameSchTimeFlag")


def test_rule1_needs_both_ends_equal_and_known(conn: Any, src: SourceRows) -> None:
    """Rule 1 / D5: a NULL schedule end compares as unknown, so no rule fires ('N', no pair)."""
    p1, p2, c1, c2 = two_agencies(src)
    src.visit(provider=p1, caregiver=c1, sch=(at(9), None))
    src.visit(provider=p2, caregiver=c2, sch=(at(9), None))
    src.flush()
    assert detect_pairs(conn) == []


# -- rule 2 ----------------------------------------------------------------------------------------


def test_rule2_identical_actual_times_of_completed_visits(conn: Any, src: SourceRows) -> None:
    """Rule 2 (3.2): both completed with equal actual times -> SameVisitTimeFlag, not rule 5."""
    p1, p2, c1, c2 = two_agencies(src)
    a = src.visit(provider=p1, caregiver=c1, actual=(at(9), at(13)))
    b = src.visit(provider=p2, caregiver=c2, sch=(at(10), at(14)), actual=(at(9), at(13)))
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    assert flags(pairs[(a, b)]) == only("SameVisitTimeFlag")
    assert flags(pairs[(b, a)]) == only("SameVisitTimeFlag")
    assert pairs[(a, b)]["MinuteDiffBetweenSch"] == 0


# -- rule 3 ----------------------------------------------------------------------------------------


def test_rule3_schedule_equals_other_actual_in_one_orientation(conn: Any, src: SourceRows) -> None:
    """Rule 3 (3.3) and D5: only the orientation (unstarted V1, completed V2) is flagged; the reverse
    orientation satisfies no rule and is not produced."""
    p1, p2, c1, c2 = two_agencies(src)
    unstarted = src.visit(provider=p1, caregiver=c1, sch=(at(9), at(13)))
    completed = src.visit(provider=p2, caregiver=c2, sch=(at(8), at(12)), actual=(at(9), at(13)))
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    assert set(pairs) == {(unstarted, completed)}
    assert flags(pairs[(unstarted, completed)]) == only("SchAndVisitTimeSameFlag")


# -- rule 4 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sch_b", "expected"),
    [
        ((at(12), at(16)), "SchOverAnotherSchTimeFlag"),  # overlap
        ((at(9), at(11)), "SchOverAnotherSchTimeFlag"),  # same start, other end: not an exact match
        ((at(13), at(17)), None),  # touching: no overlap
        ((at(7), at(9)), None),  # touching the other side
    ],
)
def test_rule4_schedule_overlap_is_strict(
    conn: Any, src: SourceRows, sch_b: tuple[datetime, datetime], expected: str | None
) -> None:
    """Rule 4 (3.4), D5: strict overlap of two unstarted schedules; touching intervals do not overlap."""
    p1, p2, c1, c2 = two_agencies(src)
    a = src.visit(provider=p1, caregiver=c1, sch=(at(9), at(13)))
    b = src.visit(provider=p2, caregiver=c2, sch=sch_b)
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    if expected is None:
        assert pairs == {}
    else:
        assert flags(pairs[(a, b)]) == only(expected)
        assert flags(pairs[(b, a)]) == only(expected)


# -- rule 5 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual_b", "expected"),
    [
        ((at(12, 45), at(16)), "VisitTimeOverAnotherVisitTimeFlag"),
        ((at(13), at(16)), None),  # touching
        ((at(12), None), None),  # partial visit: no rule applies
    ],
)
def test_rule5_actual_overlap_of_completed_visits(
    conn: Any, src: SourceRows, actual_b: tuple[datetime, datetime | None], expected: str | None
) -> None:
    """Rule 5 (3.5), D5: strict overlap of actual times; a partial visit (one actual time) satisfies
    no rule."""
    p1, p2, c1, c2 = two_agencies(src)
    a = src.visit(provider=p1, caregiver=c1, actual=(at(9), at(13)))
    b = src.visit(provider=p2, caregiver=c2, sch=(at(13), at(16)), actual=actual_b)
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    if expected is None:
        assert pairs == {}
    else:
        assert flags(pairs[(a, b)]) == only(expected)
        assert flags(pairs[(b, a)]) == only(expected)
        assert pairs[(a, b)]["MinuteDiffBetweenSch"] == 0


# -- rule 6 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sch_a", "expected"),
    [
        ((at(8), at(10)), "SchTimeOverVisitTimeFlag"),
        ((at(9), at(13)), "SchAndVisitTimeSameFlag"),  # exact match is rule 3, not rule 6
        ((at(13), at(15)), None),  # touching the end of the actual visit
    ],
)
def test_rule6_schedule_over_other_actual(
    conn: Any, src: SourceRows, sch_a: tuple[datetime, datetime], expected: str | None
) -> None:
    """Rule 6 (3.6), D5: unstarted V1's schedule strictly overlaps completed V2's actual times; one
    orientation only."""
    p1, p2, c1, c2 = two_agencies(src)
    a = src.visit(provider=p1, caregiver=c1, sch=sch_a)
    b = src.visit(provider=p2, caregiver=c2, actual=(at(9), at(13)))
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    if expected is None:
        assert pairs == {}
    else:
        assert set(pairs) == {(a, b)}
        assert flags(pairs[(a, b)]) == only(expected)


# -- rule 7 ----------------------------------------------------------------------------------------


def _distance_pair(
    src: SourceRows, gap_minutes: int, *, gps_a: str = "40.0,-74.0", gps_b: str = "40.1,-74.0"
) -> tuple[str, str]:
    p1, p2, c1, c2 = two_agencies(src)
    end_a = at(12)
    start_b = at(12, gap_minutes)
    a = src.visit(provider=p1, caregiver=c1, actual=(at(9), end_a), call_out_gps=gps_a)
    b = src.visit(
        provider=p2, caregiver=c2, sch=(start_b, at(17)), actual=(start_b, at(17)), call_out_gps=gps_b
    )
    return a, b


@pytest.mark.parametrize(("gap", "expected"), [(27, "Y"), (28, "N")])
def test_rule7_eta_just_above_and_below_the_gap(conn: Any, src: SourceRows, gap: int, expected: str) -> None:
    """Rule 7 / D7: 6.91 miles at 15 mph is an ETA of 27.64 minutes: a 27-minute gap is impossible
    ('Y'), a 28-minute gap is not; the rule holds in both orientations (gap from the earlier end)."""
    a, b = _distance_pair(src, gap)
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    if expected == "N":
        assert pairs == {}
        return
    for key in ((a, b), (b, a)):
        row = pairs[key]
        assert flags(row) == only("DistanceFlag")
        assert row["DistanceMilesFromLatLng"] == pytest.approx(6.91)
        assert row["AverageMilesPerHour"] == 15.0
        assert row["ETATravelMinutes"] == pytest.approx(27.64)
        assert row["MinuteDiffBetweenSch"] == gap


def test_rule7_needs_a_positive_gap(conn: Any, src: SourceRows) -> None:
    """D7: back-to-back visits (gap 0) never raise the distance flag, however far apart."""
    _distance_pair(src, 0, gps_b="41.0,-74.0")
    src.flush()
    assert detect_pairs(conn) == []


def test_rule7_distance_beyond_last_band_uses_last_speed(conn: Any, src: SourceRows) -> None:
    """D7: 69.09 miles is beyond the last band [25, 50): its 45 mph applies (ETA 92.12 > 60)."""
    a, b = _distance_pair(src, 60, gps_b="41.0,-74.0")
    src.flush()
    row = pair_map(detect_pairs(conn))[(a, b)]
    assert row["DistanceMilesFromLatLng"] == pytest.approx(69.09)
    assert row["AverageMilesPerHour"] == 45.0
    assert row["ETATravelMinutes"] == pytest.approx(92.12)
    assert row["DistanceFlag"] == "Y"


@pytest.mark.parametrize(("gap", "expected"), [(19, "Y"), (20, "N")])
def test_rule7_band_edges_are_half_open_and_eta_must_exceed_gap(
    conn: Any, src: SourceRows, gap: int, expected: str
) -> None:
    """D7: bands are [From, To): a distance of exactly 2.00 miles takes the [2, 5) band (6 mph), once
    (legacy matched both bands and duplicated the pair); its ETA of 20.00 minutes must be strictly
    greater than the gap."""
    ref = ReferenceData((), (), MPH_BANDS, 2.0 / rules.great_circle_miles(40.0, -74.0, 40.1, -74.0))
    a, b = _distance_pair(src, gap)
    src.flush()
    rows = detect_pairs(conn, ref=ref)
    if expected == "N":
        assert rows == []
        return
    row = pair_map(rows)[(a, b)]
    assert row["DistanceMilesFromLatLng"] == 2.0
    assert row["AverageMilesPerHour"] == 6.0
    assert row["ETATravelMinutes"] == 20.0
    assert row["DistanceFlag"] == "Y"


@pytest.mark.parametrize(
    ("gps_out", "gps_in", "expected"),
    [
        ('"40.1","-74.0"', None, (40.1, -74.0)),  # quotes stripped, element 0 = latitude
        ("40.1, -74.0", "45.0,-75.0", (40.1, -74.0)),  # call-out wins over call-in
        ("abc,def", "40.1,-74.0", (40.1, -74.0)),  # unparseable call-out -> call-in
        ("95.0,-74.0", "40.1,-74.0", (40.1, -74.0)),  # latitude out of range -> call-in
        ("40.1,-190.0", None, (41.0, -74.5)),  # longitude out of range -> patient address
        (",", "", (41.0, -74.5)),  # missing GPS -> patient address
        # Texts only the emulation's TRY_CAST would read (digit groups, exponent): missing on both
        # engines, as the SQL accepts plain decimal notation only.
        ("4_0.1,-74.0", "1e1,-74.0", (41.0, -74.5)),
    ],
)
def test_gps_coordinates_priority_and_parsing(
    conn: Any,
    src: SourceRows,
    gps_out: str | None,
    gps_in: str | None,
    expected: tuple[float, float],
) -> None:
    """D6: strip '"', split on ',', element 0 = latitude; unparseable or out-of-range values are
    missing; priority call-out, call-in, then the provider-side patient's primary GPS address."""
    p1, p2, c1, c2 = two_agencies(src)
    patient = src.patient(state="NY", latitude=41.0, longitude=-74.5)
    a = src.visit(
        provider=p1,
        caregiver=c1,
        sch=(at(9), at(13)),
        call_out_gps=gps_out,
        call_in_gps=gps_in,
        patient=patient,
    )
    b = src.visit(provider=p2, caregiver=c2, sch=(at(9), at(13)))
    src.flush()
    row = pair_map(detect_pairs(conn))[(a, b)]
    assert (row["PLatitude"], row["PLongitude"]) == pytest.approx(expected)
    assert (row["ConPLatitude"], row["ConPLongitude"]) == (None, None)
    assert row["DistanceMilesFromLatLng"] is None


def test_rule7_unparseable_gps_means_no_distance(conn: Any, src: SourceRows) -> None:
    """D6/D7: without all four coordinates there is no distance and no distance flag."""
    _distance_pair(src, 15, gps_b="north,west")
    src.flush()
    assert detect_pairs(conn) == []


# -- D4: orientations and whole groups -------------------------------------------------------------


def test_whole_group_is_paired_when_one_visit_changed(conn: Any, src: SourceRows) -> None:
    """D4: one delta visit puts its group in scope, and every ordered pair of the group at different
    providers is evaluated, including pairs between two unchanged visits; same-provider pairs never."""
    p1, p2, p3 = src.provider(), src.provider(), src.provider()
    c1, c2, c3 = src.caregiver(SSN), src.caregiver(SSN), src.caregiver(SSN)
    delta = src.visit(provider=p1, caregiver=c1, sch=(at(9), at(13)))
    old_b = src.visit(provider=p2, caregiver=c2, sch=(at(9), at(13)), updated=OLD)
    old_c = src.visit(provider=p3, caregiver=c3, sch=(at(9), at(13)), updated=None)
    same_provider = src.visit(provider=p1, caregiver=c1, sch=(at(9), at(13)), updated=OLD)
    src.flush()
    keys = set(pair_map(detect_pairs(conn)))
    visits = [delta, old_b, old_c]
    expected = {(x, y) for x in visits for y in visits if x != y}
    expected |= {(same_provider, y) for y in (old_b, old_c)} | {(y, same_provider) for y in (old_b, old_c)}
    assert keys == expected
    assert delta_groups(conn) == [(VISIT_DATE, SSN, 0)]


def test_group_without_delta_visit_is_not_in_scope(conn: Any, src: SourceRows) -> None:
    """D4/D1: a group whose visits were all updated before the cutoff produces nothing; the cutoff
    itself is inclusive."""
    p1, p2, c1, c2 = two_agencies(src)
    src.visit(provider=p1, caregiver=c1, updated=OLD)
    src.visit(provider=p2, caregiver=c2, updated=OLD)
    p3, p4, c3, c4 = two_agencies(src, "222-33-4444")
    at_cutoff = CUTOFF.astimezone(BUSINESS_TZ).replace(tzinfo=None)
    src.visit(provider=p3, caregiver=c3, updated=at_cutoff)
    src.visit(provider=p4, caregiver=c4, updated=OLD)
    src.flush()
    assert delta_groups(conn) == [(VISIT_DATE, "222-33-4444", 0)]
    assert {r["SSN"] for r in detect_pairs(conn)} == {"222-33-4444"}


def test_window_bounds_are_inclusive_dates(conn: Any, src: SourceRows) -> None:
    """D1: the visit window is [start, end] in dates, both ends inclusive."""
    p1, p2, c1, c2 = two_agencies(src)
    for day in (date(2024, 5, 14), date(2024, 5, 15), date(2024, 5, 16), date(2024, 5, 17)):
        src.visit(provider=p1, caregiver=c1, visit_date=day, sch=(at(9, day=day), at(13, day=day)))
        src.visit(provider=p2, caregiver=c2, visit_date=day, sch=(at(9, day=day), at(13, day=day)))
    src.flush()
    narrow = scope(window_start=date(2024, 5, 15), window_end=date(2024, 5, 16))
    assert sorted(g[0] for g in delta_groups(conn, narrow)) == [date(2024, 5, 15), date(2024, 5, 16)]
    assert {r["VisitDate"] for r in detect_pairs(conn, narrow)} == {date(2024, 5, 15), date(2024, 5, 16)}


# -- exclusions ------------------------------------------------------------------------------------


def test_excluded_ssn_is_never_in_scope(conn: Any, src: SourceRows) -> None:
    """Exclusions, trimmed on both sides (the legacy trimmed only the visit's SSN, see
    docs/legacy-differences.md): an excluded SSN forms no group and no pair."""
    p1, p2, c1, c2 = two_agencies(src, " 999-00-1111 ")
    src.visit(provider=p1, caregiver=c1)
    src.visit(provider=p2, caregiver=c2)
    src.flush()
    ref = ReferenceData((" 999-00-1111",), (), MPH_BANDS, 1.0)
    assert delta_groups(conn, ref=ref) == []
    assert detect_pairs(conn, ref=ref) == []
    assert len(detect_pairs(conn)) == 2


def test_excluded_agency_visits_are_ignored(conn: Any, src: SourceRows) -> None:
    """Legacy 1.4 exclusions: visits of an excluded provider neither trigger a group nor pair; the
    other agencies of the group still pair. Provider ids compare case-insensitively."""
    p1, p2, p3 = (
        src.provider(),
        src.provider(),
        src.provider(provider_id="ABCDEF00-0000-4000-8000-000000000001"),
    )
    c1, c2, c3 = src.caregiver(SSN), src.caregiver(SSN), src.caregiver(SSN)
    a = src.visit(provider=p1, caregiver=c1)
    b = src.visit(provider=p2, caregiver=c2)
    src.visit(provider=p3, caregiver=c3)
    p4, p5, c4, c5 = two_agencies(src, "555-66-7777")
    src.visit(provider=p4, caregiver=c4, updated=OLD)
    src.visit(provider=p5, caregiver=c5, updated=OLD)
    src.visit(provider=p3, caregiver=src.caregiver("555-66-7777"))  # its only delta visit is excluded
    src.flush()
    ref = ReferenceData((), ("abcdef00-0000-4000-8000-000000000001",), MPH_BANDS, 1.0)
    assert set(pair_map(detect_pairs(conn, ref=ref))) == {(a, b), (b, a)}
    assert delta_groups(conn, ref=ref) == [(VISIT_DATE, SSN, 0)]


@pytest.mark.parametrize(("active", "demo"), [(False, False), (True, True), (None, False)])
def test_inactive_or_demo_provider_visits_are_dropped(
    conn: Any, src: SourceRows, active: bool | None, demo: bool
) -> None:
    """Legacy 1.5 (INNER join to active, non-demo DIMPROVIDER): such visits take no part, and a group
    whose only changed visit is one of them is not in scope."""
    p1, p2 = src.provider(), src.provider()
    bad = src.provider(active=active, demo=demo)
    c1, c2, c3 = src.caregiver(SSN), src.caregiver(SSN), src.caregiver(SSN)
    src.visit(provider=p1, caregiver=c1, updated=OLD)
    src.visit(provider=p2, caregiver=c2, updated=OLD)
    src.visit(provider=bad, caregiver=c3)
    src.flush()
    assert delta_groups(conn) == []
    assert detect_pairs(conn) == []


# -- cross-state filter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side_a", "side_b", "kept"),
    [
        (("NY", None, "NY"), ("ny ", None, "NJ"), True),  # same patient state (normalised)
        (("NY", None, "NY"), ("NJ", None, "NY"), False),  # different patient states
        (("New York", None, "NJ"), ("NY", None, "NJ"), True),  # full name maps to its code
        (("NJ", "NY", "NJ"), (None, "ny", "PA"), True),  # payer-side state matches
        ((None, None, "NJ"), ("NY", None, "NY"), False),  # provider state stands in, differs
        ((None, None, "NY"), (" ", None, "NY"), True),  # both sides fall back to provider NY
        ((None, None, None), ("NJ", None, "NJ"), True),  # side A undeterminable: kept
        (("LONG ISLAND", None, "NY"), ("LI", None, "NY"), True),
        (("Pennsylvania", None, "PA"), ("PA", None, "NY"), True),
        (("MISSISSIPPI", None, "MS"), ("NY", None, "NY"), False),
    ],
)
def test_cross_state_filter(
    conn: Any,
    src: SourceRows,
    side_a: tuple[str | None, str | None, str | None],
    side_b: tuple[str | None, str | None, str | None],
    kept: bool,
) -> None:
    """Detection.md 4 (D5): a pair is kept when a side has no state or any state of one side equals
    any state of the other; patient states are normalised and mapped, the provider's state stands in
    for a side whose patient states are both blank."""
    ids = []
    for patient_state, payer_state, provider_state in (side_a, side_b):
        provider = src.provider(state=provider_state)
        patient = src.patient(state=patient_state)
        payer_patient = src.patient(state=payer_state)
        ids.append(
            src.visit(
                provider=provider,
                caregiver=src.caregiver(SSN),
                patient=patient,
                payer_patient=payer_patient,
            )
        )
    src.flush()
    keys = set(pair_map(detect_pairs(conn)))
    assert keys == ({(ids[0], ids[1]), (ids[1], ids[0])} if kept else set())


# -- D8: deterministic output ----------------------------------------------------------------------


def test_dimension_fan_out_gives_one_row_per_pair(conn: Any, src: SourceRows) -> None:
    """D8: duplicated dimension rows (caregiver, provider, patient, two equally recent primary GPS
    addresses, service code, user) and a duplicated fact row still give one row per pair key, built
    from the most recently updated fact row and the smallest-id dimension rows."""
    p1, p2, c1, c2 = two_agencies(src)
    src.provider(provider_id=p1, app_id=999_999, name="Duplicate Agency")  # larger app id loses
    src.caregiver(SSN, caregiver_id=c1, app_id=999_999, code="DUP")
    patient = src.patient(state="NY", latitude=40.0, longitude=-74.0)
    src.patient(patient_id=patient, state="NY", with_address=False, name="Zed Duplicate")
    src.address(patient, state="NY", latitude=45.0, longitude=-70.0)  # same created time, larger id
    src.address(patient, state="NY", latitude=44.0, longitude=-71.0, created=datetime(2022, 1, 1))
    a = src.visit(provider=p1, caregiver=c1, patient=patient, updated=RECENT)
    src.visit(provider=p1, caregiver=c1, patient=patient, visit_id=a, updated=OLD, sch=(at(10), at(14)))
    b = src.visit(provider=p2, caregiver=c2)
    src.flush()
    rows = detect_pairs(conn)
    pairs = pair_map(rows)
    assert set(pairs) == {(a, b), (b, a)}
    row = pairs[(a, b)]
    assert row["SchStartTime"] == at(9)  # the RECENT fact row
    assert row["ProviderName"] != "Duplicate Agency"
    assert row["AideCode"] != "DUP"
    assert row["P_PName"] == "Sam Patient"
    assert (row["PLatitude"], row["PLongitude"]) == (40.0, -74.0)


# -- D23: unusable rows ----------------------------------------------------------------------------


def test_bad_rows_are_skipped_and_counted(conn: Any, src: SourceRows) -> None:
    """D23: rows with a non-uuid visit id or a non-integer application visit id, an end before its
    start, a visit date outside the window or a blank SSN never reach a pair, never abort the run, and
    are counted per reason."""
    p1, p2, c1, c2 = two_agencies(src)
    good_a = src.visit(provider=p1, caregiver=c1)
    good_b = src.visit(provider=p2, caregiver=c2)
    src.visit(provider=p2, caregiver=c2, visit_id="not-a-uuid")
    bad_app_id: dict[str, Any] = {"Application Visit Id": "APP-12X"}
    src.visit(provider=p2, caregiver=c2, updated=OLD, **bad_app_id)
    src.visit(provider=p2, caregiver=c2, sch=(at(13), at(9)))
    src.visit(provider=p2, caregiver=c2, sch=(at(9), at(13)), actual=(at(12), at(10)), updated=OLD)
    src.visit(provider=p2, caregiver=c2, visit_date=date(2022, 6, 1))  # outside the window
    blank = src.caregiver("   ")
    src.visit(provider=p1, caregiver=blank)
    src.visit(provider=p1, caregiver=src.new_id())  # caregiver without a dimension row
    src.flush()
    assert set(pair_map(detect_pairs(conn))) == {(good_a, good_b), (good_b, good_a)}
    counts = skipped(conn)
    assert {reason: n for reason, n in counts.items() if n} == {
        "invalid_visit_id": 2,
        "end_before_start": 2,
        "outside_window": 1,
        "missing_caregiver": 1,
        "blank_ssn": 1,
    }
    assert set(counts) == {*SKIP_REASONS, *(NOTE_PREFIX + n for n in NOTES)}


def test_more_bad_input_is_skipped_or_ignored_and_counted(conn: Any, src: SourceRows) -> None:
    """D23, the rest of the catalogue: a malformed SSN and an unknown provider skip the row; a second
    row of the same visit id is dropped (D8 keeps one, the same pairs result); garbage GPS text is
    ignored (D6, the next coordinate source is used) and an unknown bill value is kept as sent, both
    counted as notes; none of it aborts the run or makes a partial pair."""
    p1, p2, c1, c2 = two_agencies(src)
    good_a = src.visit(provider=p1, caregiver=c1, call_out_gps="91.5,-200", call_in_gps="abc,def")
    unknown_bill: dict[str, Any] = {"Billed": "maybe", "Bill Type": "Weekly"}
    good_b = src.visit(provider=p2, caregiver=c2, **unknown_bill)
    # The same visit as good_b, sent twice (identical rows).
    src.visit(provider=p2, caregiver=c2, visit_id=good_b, **unknown_bill)
    src.visit(provider=p1, caregiver=src.caregiver("12-345"))  # not 9 digits
    src.visit(provider=src.new_id(), caregiver=c1)  # a provider the dimension does not know
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    assert set(pairs) == {(good_a, good_b), (good_b, good_a)}
    assert pairs[(good_a, good_b)]["PLatitude"] is None  # both GPS texts ignored, no patient address
    assert pairs[(good_a, good_b)]["ConRateType"] == "Weekly"
    counts = skipped(conn)
    assert {reason: n for reason, n in counts.items() if n} == {
        "duplicate_visit_row": 1,
        "invalid_ssn": 1,
        "missing_provider": 1,
        "note:unusable_gps": 1,
        "note:unknown_bill_value": 1,
    }


def test_application_ids_are_digits_on_both_engines(conn: Any, src: SourceRows) -> None:
    """D23 with the engines agreeing: an application id is the trimmed text of at most 18 digits.
    TRY_CAST alone reads '0x1F' and '1_000' on the emulation but not on Snowflake, and 20 digits on
    Snowflake but not on the emulation; the SQL tests the digits first, so such a visit id is skipped
    (invalid_visit_id) and such an attribute id is NULL on both."""
    p1, p2, c1, c2 = two_agencies(src)
    hex_provider_id: dict[str, Any] = {"Application Provider Id": "0x1F", "Application Visit Id": " 12 "}
    good_a = src.visit(provider=p1, caregiver=c1, **hex_provider_id)
    long_provider_id: dict[str, Any] = {"Application Provider Id": "99999999999999999999"}
    good_b = src.visit(provider=p2, caregiver=c2, **long_provider_id)
    for bad in ("0x1F", "1_000", "+7", "12.0", "99999999999999999999"):
        bad_visit_id: dict[str, Any] = {"Application Visit Id": bad}
        src.visit(provider=p2, caregiver=c2, updated=OLD, **bad_visit_id)
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    assert set(pairs) == {(good_a, good_b), (good_b, good_a)}
    row = pairs[(good_a, good_b)]
    assert (row["AppVisitID"], row["AppProviderID"], row["ConAppProviderID"]) == (12, None, None)
    assert skipped(conn)["invalid_visit_id"] == 5


def test_skip_counts_split_across_chunks(conn: Any, src: SourceRows) -> None:
    """D23 per chunk: a skipped row is counted by exactly one chunk (its SSN's chunk; rows without an
    SSN by chunk 0), so the chunks' counts add up to the whole scope's."""
    for n in range(12):
        ssn = f"100-00-{n:04d}"
        p1, p2, c1, c2 = two_agencies(src, ssn)
        src.visit(provider=p1, caregiver=c1)
        src.visit(provider=p2, caregiver=c2, visit_id=f"bad-{n}")
        src.visit(provider=p2, caregiver=c2, visit_date=date(2022, 6, 1))
    src.visit(provider=src.provider(), caregiver=src.caregiver(""))
    src.flush()
    total = skipped(conn, scope(chunks=4))
    assert total["invalid_visit_id"] == 12 and total["outside_window"] == 12 and total["blank_ssn"] == 1
    per_chunk = [skipped(conn, scope(chunk=k, chunks=4)) for k in range(4)]
    for reason in SKIP_REASONS:
        assert sum(c[reason] for c in per_chunk) == total[reason]
    assert per_chunk[0]["blank_ssn"] == 1


# -- chunks ----------------------------------------------------------------------------------------


def test_chunk_hash_is_the_same_in_sql_and_python(conn: Any, src: SourceRows) -> None:
    """Plan/detect contract: the SQL chunk of a group equals `chunk_of` of its SSN, each chunk holds
    exactly its groups, and the chunks partition the scope."""
    ssns = [f"{n:03d}-{(n * 7) % 100:02d}-{(n * 37) % 10000:04d}" for n in range(60)]
    for ssn in ssns:
        src.visit(provider=src.provider(), caregiver=src.caregiver(ssn))
    src.flush()
    chunks = 7
    everything = delta_groups(conn, scope(chunks=chunks))
    assert sorted(s for _, s, _ in everything) == sorted(ssns)
    assert all(c == chunk_of(s, chunks) for _, s, c in everything)
    for k in range(chunks):
        assert {s for _, s, _ in delta_groups(conn, scope(chunk=k, chunks=chunks))} == {
            s for s in ssns if chunk_of(s, chunks) == k
        }


def test_pairs_of_a_chunk_are_only_its_groups(conn: Any, src: SourceRows) -> None:
    """Plan/detect contract: iter_pairs for one chunk reads only that chunk's groups."""
    ssns = ["111-11-1111", "222-22-2222", "333-33-3333", "444-44-4444"]
    for ssn in ssns:
        p1, p2, c1, c2 = two_agencies(src, ssn)
        src.visit(provider=p1, caregiver=c1)
        src.visit(provider=p2, caregiver=c2)
    src.flush()
    for k in range(3):
        got = {r["SSN"] for r in detect_pairs(conn, scope(chunk=k, chunks=3))}
        assert got == {s for s in ssns if chunk_of(s, 3) == k}


# -- output shape ----------------------------------------------------------------------------------


def test_output_columns_and_value_types(conn: Any, src: SourceRows) -> None:
    """Detection.md 5: the conflictvisitmaps column names in order (no CONFLICTID), lower-case uuid
    text, naive wall-clock timestamps, dates, ints, floats, bools, 'Y'/'N' flags; always-NULL columns
    are NULL."""
    p1 = src.provider(provider_id="AAAAAAAA-0000-4000-8000-000000000001")
    p2 = src.provider()
    c1, c2 = src.caregiver(SSN), src.caregiver(SSN)
    patient = src.patient(state="NY", latitude=40.0, longitude=-74.0)
    billing: dict[str, Any] = {
        "Billed": "yes",
        "Billed Hours": 4,
        "Application Payer Id": 7,
        "Application Contract Id": "0",
    }
    a = src.visit(
        provider=p1,
        caregiver=c1,
        visit_id="BBBBBBBB-0000-4000-8000-000000000002",
        actual=(at(9), at(13)),
        patient=patient,
        **billing,
    )
    b = src.visit(provider=p2, caregiver=c2, actual=(at(12), at(16)))
    src.flush()
    rows = detect_pairs(conn)
    assert len(PAIR_COLUMNS) == 205 and "CONFLICTID" not in PAIR_COLUMNS
    row = pair_map(rows)[(a.lower(), b)]
    assert row["VisitID"] == "bbbbbbbb-0000-4000-8000-000000000002"
    assert row["ProviderID"] == "aaaaaaaa-0000-4000-8000-000000000001"
    assert row["VisitDate"] == VISIT_DATE
    assert row["VisitStartTime"] == at(9) and row["VisitStartTime"].tzinfo is None
    assert row["LastUpdatedDate"] == RECENT
    assert isinstance(row["AppVisitID"], int) and isinstance(row["AppCaregiverID"], int)
    assert row["BillRateBoth"] == 27.5 and row["BilledHours"] == 4.0
    assert row["ContractType"] == "Payer" and row["ConContractType"] == "Internal"
    assert row["IsMissed"] is False
    assert row["SSN"] == row["AideSSN"] == row["ConAideSSN"] == SSN
    assert row["P_PAddressState"] == "NY" and row["P_PatientID"] == patient
    for always_null in ("PName", "PAddressState", "PZipCode", "AgencyContact", "ConAgencyContact"):
        assert row[always_null] is None
    assert set(row[c] for c in FLAG_COLUMNS) <= {"Y", "N"}


def _tz(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


def test_dst_days_give_business_wall_clock_times_and_dates(conn: Any, src: SourceRows) -> None:
    """D1 (business time zone) on both DST days, for TIMESTAMP_TZ input with UTC and New York offsets:
    times become New York wall-clock times and "Visit Date" the New York date, whatever the session
    zone (the SQL converts an explicit TIMESTAMP_TZ, so Snowflake and the emulation agree).
    Spring forward (2024-03-10, 02:00 EST -> 03:00 EDT) and fall back (2024-11-03, 01:00-02:00 twice)."""
    p1, p2, c1, c2 = two_agencies(src)
    utc = _tz(0)
    spring, fall = date(2024, 3, 10), date(2024, 11, 3)
    cases = {
        # 06:30Z-07:30Z = 01:30 EST - 03:30 EDT; 07:00Z-08:00Z = 03:00 - 04:00 EDT.
        "spring_a": (
            p1,
            c1,
            datetime(2024, 3, 10, 5, tzinfo=utc),
            datetime(2024, 3, 10, 6, 30, tzinfo=utc),
            datetime(2024, 3, 10, 7, 30, tzinfo=utc),
        ),
        "spring_b": (
            p2,
            c2,
            datetime(2024, 3, 10, 5, tzinfo=utc),
            datetime(2024, 3, 10, 3, 0, tzinfo=_tz(-4)),
            datetime(2024, 3, 10, 8, 0, tzinfo=utc),
        ),
        # 05:10Z-06:20Z = 01:10 EDT - 01:20 EST (the second 1 AM); 06:05Z-06:50Z = 01:05 - 01:50 EST.
        "fall_a": (
            p1,
            c1,
            datetime(2024, 11, 3, 4, tzinfo=utc),
            datetime(2024, 11, 3, 1, 10, tzinfo=_tz(-4)),
            datetime(2024, 11, 3, 6, 20, tzinfo=utc),
        ),
        "fall_b": (
            p2,
            c2,
            datetime(2024, 11, 3, 4, tzinfo=utc),
            datetime(2024, 11, 3, 6, 5, tzinfo=utc),
            datetime(2024, 11, 3, 1, 50, tzinfo=_tz(-5)),
        ),
        # "Visit Date" instants just before New York midnight: 23:30 of the day before.
        "eve_spring_a": (p1, c1, datetime(2024, 3, 10, 4, 30, tzinfo=utc), None, None),
        "eve_spring_b": (p2, c2, datetime(2024, 3, 10, 4, 30, tzinfo=utc), None, None),
        "eve_fall_a": (p1, c1, datetime(2024, 11, 3, 3, 30, tzinfo=utc), None, None),
        "eve_fall_b": (p2, c2, datetime(2024, 11, 3, 3, 30, tzinfo=utc), None, None),
    }
    ids = {}
    for name, (provider, caregiver, visit_date, start, end) in cases.items():
        day = fall if "fall" in name else spring
        visit_date_column: dict[str, Any] = {"Visit Date": visit_date}
        ids[name] = src.visit(
            provider=provider,
            caregiver=caregiver,
            visit_date=day,
            sch=(at(9, day=day), at(13, day=day)),
            actual=(start, end),
            **visit_date_column,
        )
    src.flush()
    pairs = pair_map(detect_pairs(conn))
    spring_pair = pairs[(ids["spring_a"], ids["spring_b"])]
    assert spring_pair["VisitDate"] == spring
    assert (spring_pair["VisitStartTime"], spring_pair["VisitEndTime"]) == (
        at(1, 30, spring),
        at(3, 30, spring),
    )
    assert (spring_pair["ConVisitStartTime"], spring_pair["ConVisitEndTime"]) == (
        at(3, 0, spring),
        at(4, 0, spring),
    )
    fall_pair = pairs[(ids["fall_a"], ids["fall_b"])]
    assert fall_pair["VisitDate"] == fall
    assert (fall_pair["VisitStartTime"], fall_pair["VisitEndTime"]) == (at(1, 10, fall), at(1, 20, fall))
    assert (fall_pair["ConVisitStartTime"], fall_pair["ConVisitEndTime"]) == (at(1, 5, fall), at(1, 50, fall))
    assert (
        spring_pair["VisitTimeOverAnotherVisitTimeFlag"]
        == fall_pair["VisitTimeOverAnotherVisitTimeFlag"]
        == "Y"
    )
    # Unstarted visits with equal schedules pair on the New York date of their "Visit Date".
    assert pairs[(ids["eve_spring_a"], ids["eve_spring_b"])]["VisitDate"] == date(2024, 3, 9)
    assert pairs[(ids["eve_fall_a"], ids["eve_fall_b"])]["VisitDate"] == date(2024, 11, 2)
    assert (ids["spring_a"], ids["eve_spring_b"]) not in pairs  # another date, another group


def test_scope_rejects_bad_parameters() -> None:
    """D3: parameters are validated before any query runs, with a message naming the problem."""
    with pytest.raises(SourceQueryError, match="time zone"):
        scope(cutoff=datetime(2024, 5, 10))
    with pytest.raises(SourceQueryError, match="chunk 3"):
        scope(chunk=3, chunks=3)
    with pytest.raises(SourceQueryError, match="after window end"):
        SourceScope(date(2024, 2, 1), date(2024, 1, 1), CUTOFF, None, 1)


# -- reference data --------------------------------------------------------------------------------


def test_load_reference_data(pg: Any) -> None:
    """Legacy 1.2 with D7: settings.ExtraDistancePer (1.0 when NULL), mph bands, trimmed non-blank
    excluded SSNs and lower-case excluded provider ids, read from the target schema."""
    pg.execute('UPDATE settings SET "ExtraDistancePer" = 1.25 WHERE "ID" = 0')
    pg.execute('INSERT INTO mph ("From", "To", "AverageMilesPerHour") VALUES (2, 5, 6), (0, 2, 2)')
    pg.execute("INSERT INTO excluded_ssn (\"SSN\") VALUES (' 123-45-6789 '), ('   '), (NULL)")
    pg.execute(
        "INSERT INTO excluded_agency (\"ProviderID\") VALUES ('ABCDEF00-0000-4000-8000-000000000001'), (NULL)"
    )
    ref = load_reference_data(pg)
    assert ref == ReferenceData(
        excluded_ssns=("123-45-6789",),
        excluded_provider_ids=("abcdef00-0000-4000-8000-000000000001",),
        mph_bands=((0.0, 2.0, 2.0), (2.0, 5.0, 6.0)),
        extra_distance_per=1.25,
    )
    pg.execute('UPDATE settings SET "ExtraDistancePer" = NULL')
    assert load_reference_data(pg).extra_distance_per == 1.0


def test_empty_reference_data_changes_nothing_but_distance(conn: Any, src: SourceRows) -> None:
    """D7: without speed bands there is no speed, no ETA and no distance flag; time rules still fire."""
    _distance_pair(src, 15)
    p1, p2, c1, c2 = two_agencies(src, "222-22-2222")
    x = src.visit(provider=p1, caregiver=c1)
    y = src.visit(provider=p2, caregiver=c2)
    src.flush()
    ref = ReferenceData((), (), (), 1.0)
    assert set(pair_map(detect_pairs(conn, ref=ref))) == {(x, y), (y, x)}
    assert NO_REFERENCE.mph_bands == MPH_BANDS
