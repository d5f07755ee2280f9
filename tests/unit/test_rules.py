"""The pure-Python statement of the rules (devkit.rules), checked on hand-worked cases."""

from __future__ import annotations

from datetime import datetime

import pytest

from devkit import rules
from devkit.geometry import band_speed, round_half_away
from devkit.rules import Visit, evaluate_pair, parse_gps

BANDS = ((0.0, 2.0, 2.0), (2.0, 5.0, 6.0), (5.0, 10.0, 15.0))


def t(h: int, m: int = 0) -> datetime:
    return datetime(2024, 5, 15, h, m)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("40.5,-73.9", (40.5, -73.9)),
        ('"40.5","-73.9"', (40.5, -73.9)),
        (" 40.5 , -73.9 ", (40.5, -73.9)),
        ("91,-73.9", None),
        ("40.5,-181", None),
        ("abc,def", None),
        (",", None),
        ("40.5", None),
        (None, None),
        ("nan,nan", None),
    ],
)
def test_parse_gps(text: str | None, expected: tuple[float, float] | None) -> None:
    """D6: strip '"', split on ',', element 0 latitude, element 1 longitude, range-checked."""
    assert parse_gps(text) == expected


def test_coordinate_priority() -> None:
    """D6: call-out, then call-in, then the patient address."""
    assert rules.visit_coordinates("1,2", "3,4", 5.0, 6.0) == (1.0, 2.0)
    assert rules.visit_coordinates("x", "3,4", 5.0, 6.0) == (3.0, 4.0)
    assert rules.visit_coordinates(None, "", 5.0, 6.0) == (5.0, 6.0)
    assert rules.visit_coordinates(None, None, 95.0, 6.0) is None


@pytest.mark.parametrize(
    ("miles", "expected"),
    [(0.0, 2.0), (1.99, 2.0), (2.0, 6.0), (9.99, 15.0), (10.0, 15.0), (500.0, 15.0), (None, None)],
)
def test_band_speed_half_open_and_beyond_last(miles: float | None, expected: float | None) -> None:
    """D7: [From, To) bands; beyond the last band its speed applies."""
    assert band_speed(miles, BANDS) == expected


def test_band_speed_gap_has_no_speed() -> None:
    assert band_speed(3.0, ((0.0, 2.0, 2.0), (5.0, 10.0, 15.0))) is None
    assert band_speed(3.0, ()) is None


def test_round_half_away_from_zero() -> None:
    assert round_half_away(2.5, 0) == 3.0
    assert round_half_away(-2.5, 0) == -3.0
    assert round_half_away(0.125, 2) == 0.13


def test_touching_visits_do_not_overlap_but_can_be_impossible_to_reach() -> None:
    """D5 strict overlap and D7: back-to-back completed visits have gap 0, so no distance flag."""
    a = Visit("a", "p1", visit_start=t(9), visit_end=t(12), latitude=40.0, longitude=-74.0)
    b = Visit("b", "p2", visit_start=t(12), visit_end=t(15), latitude=41.0, longitude=-74.0)
    assert evaluate_pair(a, b, BANDS, 1.0) is None
    later = Visit("b", "p2", visit_start=t(12, 30), visit_end=t(15), latitude=41.0, longitude=-74.0)
    result = evaluate_pair(a, later, BANDS, 1.0)
    assert result is not None and result.distance == "Y" and result.minute_diff == 30
    assert evaluate_pair(later, a, BANDS, 1.0) == rules.PairResult(
        **{**result.__dict__, "visit_id": "b", "con_visit_id": "a"}
    )


def test_rule3_is_one_orientation_only() -> None:
    """Rule 3: V1 unstarted (schedule) vs V2 completed (actual); the reverse orientation has no rule."""
    unstarted = Visit("a", "p1", sch_start=t(9), sch_end=t(13))
    done = Visit("b", "p2", sch_start=t(8), sch_end=t(12), visit_start=t(9), visit_end=t(13))
    result = evaluate_pair(unstarted, done, BANDS, 1.0)
    assert result is not None and result.flags == ("N", "N", "Y", "N", "N", "N", "N")
    assert evaluate_pair(done, unstarted, BANDS, 1.0) is None


def test_pairs_of_group_both_orientations_different_providers() -> None:
    """D4: every ordered pair at different providers."""
    vs = [Visit("a", "p1"), Visit("b", "p2"), Visit("c", "p1")]
    assert {(x.visit_id, y.visit_id) for x, y in rules.pairs_of_group(vs)} == {
        ("a", "b"),
        ("b", "a"),
        ("c", "b"),
        ("b", "c"),
    }


def test_cross_state_sides() -> None:
    """Detection.md 4: mapped patient states, provider fallback when both are blank."""
    assert rules.side_states(Visit("a", "p", patient_state=" new york ", provider_state="NJ")) == ("NY", None)
    assert rules.side_states(Visit("a", "p", patient_state=" ", provider_state="nj")) == ("NJ", "NJ")
    ny = Visit("a", "p", patient_state="NY")
    nj = Visit("b", "q", payer_patient_state="NJ")
    assert not rules.same_state(ny, nj)
    assert rules.same_state(ny, Visit("c", "r"))
