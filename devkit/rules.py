"""The conflict rules in plain Python: an executable statement of the legacy's rules and cross-state
filter as amended by D4-D7 (docs/pipeline.md, "Detection rules"), written independently of the SQL so
that tests can use it as an oracle.

A group is all visits of one SSN on one date. Every ordered pair of visits of a group at different
providers is evaluated in its own orientation (D4, D5); a pair is a conflict when at least one of the
seven flags is 'Y' and the cross-state filter keeps it.

Visit states: *unstarted* = no actual start and no actual end; *completed* = both;
*partial* = exactly one, which satisfies no rule. Overlap is strict (touching intervals do not overlap)
and any comparison with a missing value is false ('N').
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from devkit import geometry
from devkit.geometry import Band, band_speed, eta_minutes

# Re-exported: tests state expected distances through the oracle (`rules.great_circle_miles`).
from devkit.geometry import great_circle_miles as great_circle_miles

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_STATE_CODES = {"MISSISSIPPI": "MS", "NEW YORK": "NY", "PENNSYLVANIA": "PA", "LONG ISLAND": "LI"}


@dataclass(frozen=True)
class Visit:
    """The fields of one visit that the rules read.

    `latitude`/`longitude` are the visit's resolved coordinates (see `visit_coordinates`). The three
    states feed the cross-state filter: the provider-side and payer-side patient address states (raw)
    and the provider's address state.
    """

    visit_id: str
    provider_id: str
    sch_start: datetime | None = None
    sch_end: datetime | None = None
    visit_start: datetime | None = None
    visit_end: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    patient_state: str | None = None
    payer_patient_state: str | None = None
    provider_state: str | None = None

    @property
    def unstarted(self) -> bool:
        return self.visit_start is None and self.visit_end is None

    @property
    def completed(self) -> bool:
        return self.visit_start is not None and self.visit_end is not None


@dataclass(frozen=True)
class PairResult:
    """One evaluated ordered pair (v1 = the visit, v2 = the conflicting visit)."""

    visit_id: str
    con_visit_id: str
    same_sch_time: str
    same_visit_time: str
    sch_and_visit_time_same: str
    sch_over_another_sch_time: str
    visit_time_over_another_visit_time: str
    sch_time_over_visit_time: str
    distance: str
    distance_miles: float | None
    average_miles_per_hour: float | None
    eta_travel_minutes: float | None
    minute_diff: int | None

    @property
    def flags(self) -> tuple[str, str, str, str, str, str, str]:
        """The seven flags in conflictvisitmaps column order (SameSchTimeFlag ... DistanceFlag)."""
        return (
            self.same_sch_time,
            self.same_visit_time,
            self.sch_and_visit_time_same,
            self.sch_over_another_sch_time,
            self.visit_time_over_another_visit_time,
            self.sch_time_over_visit_time,
            self.distance,
        )


# -- coordinates (D6) ------------------------------------------------------------------------------


def parse_gps(text: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) from GPS text: strip '"', split on ',', element 0 is the latitude and
    element 1 the longitude; anything unparseable or out of [-90, 90] / [-180, 180] is missing."""
    if text is None:
        return None
    parts = text.replace('"', "").split(",")
    if len(parts) < 2:
        return None
    lat, lon = _number(parts[0]), _number(parts[1])
    return _in_range(lat, lon)


def visit_coordinates(
    call_out_gps: str | None,
    call_in_gps: str | None,
    address_latitude: float | None,
    address_longitude: float | None,
) -> tuple[float, float] | None:
    """D6 priority: call-out GPS, then call-in GPS, then the provider-side patient's GPS address."""
    return parse_gps(call_out_gps) or parse_gps(call_in_gps) or _in_range(address_latitude, address_longitude)


def _number(text: str) -> float | None:
    text = text.strip(" ")
    return float(text) if _NUMBER.fullmatch(text) else None


def _in_range(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if lat is None or lon is None:
        return None
    if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:
        return (lat, lon)
    return None


# -- distance and speed (D7): the arithmetic is devkit.geometry's ----------------------------------


def distance_miles(v1: Visit, v2: Visit, extra_distance_per: float) -> float | None:
    """D7: great-circle miles between the visits times the multiplier, rounded to 2 decimals; None
    unless all four coordinates are known."""
    if v1.latitude is None or v1.longitude is None or v2.latitude is None or v2.longitude is None:
        return None
    return geometry.distance_miles(
        (v1.latitude, v1.longitude), (v2.latitude, v2.longitude), extra_distance_per
    )


def minute_gap(v1: Visit, v2: Visit) -> int | None:
    """Whole minutes from the end of the earlier completed visit to the start of the later one;
    0 when the actual intervals overlap; None unless both visits are completed."""
    if not (v1.completed and v2.completed):
        return None
    assert v1.visit_start and v1.visit_end and v2.visit_start and v2.visit_end
    if v1.visit_end <= v2.visit_start:
        end, start = v1.visit_end, v2.visit_start
    elif v2.visit_end <= v1.visit_start:
        end, start = v2.visit_end, v1.visit_start
    else:
        return 0
    # Whole seconds first (sub-second parts are dropped), then whole minutes.
    seconds = int((start.replace(microsecond=0) - end.replace(microsecond=0)).total_seconds())
    return seconds // 60


# -- cross-state filter ----------------------------------------------------------------------------


def _norm(state: str | None) -> str | None:
    if state is None:
        return None
    value = state.strip(" ").upper()
    return value or None


def side_states(v: Visit) -> tuple[str | None, str | None]:
    """(P_Final, PA_Final) of one side: mapped patient states, or the provider's state for both when
    neither patient state is known."""
    p, pa = _norm(v.patient_state), _norm(v.payer_patient_state)
    if p is None and pa is None:
        provider = _norm(v.provider_state)
        return provider, provider
    return _STATE_CODES.get(p, p) if p else None, _STATE_CODES.get(pa, pa) if pa else None


def same_state(v1: Visit, v2: Visit) -> bool:
    """True when the pair passes the cross-state filter."""
    left, right = side_states(v1), side_states(v2)
    if all(s is None for s in left) or all(s is None for s in right):
        return True
    return any(a is not None and a == b for a in left for b in right)


# -- rules 1-7 -------------------------------------------------------------------------------------


def _yn(condition: bool) -> str:
    return "Y" if condition else "N"


def _overlaps(
    a_start: datetime | None, a_end: datetime | None, b_start: datetime | None, b_end: datetime | None
) -> bool:
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return False
    return a_start < b_end and a_end > b_start


def _same(
    a_start: datetime | None, a_end: datetime | None, b_start: datetime | None, b_end: datetime | None
) -> bool:
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return False
    return a_start == b_start and a_end == b_end


def _overlaps_not_same(
    a_start: datetime | None, a_end: datetime | None, b_start: datetime | None, b_end: datetime | None
) -> bool:
    """Rules 4-6: a strict overlap that is not the identical interval (identical ones are rules 1-3)."""
    return _overlaps(a_start, a_end, b_start, b_end) and not _same(a_start, a_end, b_start, b_end)


def evaluate_pair(
    v1: Visit,
    v2: Visit,
    bands: Sequence[Band],
    extra_distance_per: float,
) -> PairResult | None:
    """The ordered pair (v1, v2) as a conflict row, or None when it is not one (same provider or same
    visit, no flag 'Y', or dropped by the cross-state filter)."""
    if v1.provider_id == v2.provider_id or v1.visit_id == v2.visit_id:
        return None
    both_unstarted = v1.unstarted and v2.unstarted
    both_completed = v1.completed and v2.completed
    sch_vs_actual = v1.unstarted and v2.completed

    rule1 = both_unstarted and _same(v1.sch_start, v1.sch_end, v2.sch_start, v2.sch_end)
    rule2 = both_completed and _same(v1.visit_start, v1.visit_end, v2.visit_start, v2.visit_end)
    rule3 = sch_vs_actual and _same(v1.sch_start, v1.sch_end, v2.visit_start, v2.visit_end)
    rule4 = both_unstarted and _overlaps_not_same(v1.sch_start, v1.sch_end, v2.sch_start, v2.sch_end)
    rule5 = both_completed and _overlaps_not_same(v1.visit_start, v1.visit_end, v2.visit_start, v2.visit_end)
    rule6 = sch_vs_actual and _overlaps_not_same(v1.sch_start, v1.sch_end, v2.visit_start, v2.visit_end)

    miles = distance_miles(v1, v2, extra_distance_per)
    mph = band_speed(miles, bands)
    eta = eta_minutes(miles, mph)
    gap = minute_gap(v1, v2)
    rule7 = (
        both_completed and miles is not None and gap is not None and gap > 0 and eta is not None and eta > gap
    )

    flags = (rule1, rule2, rule3, rule4, rule5, rule6, rule7)
    if not any(flags) or not same_state(v1, v2):
        return None
    return PairResult(
        visit_id=v1.visit_id,
        con_visit_id=v2.visit_id,
        same_sch_time=_yn(rule1),
        same_visit_time=_yn(rule2),
        sch_and_visit_time_same=_yn(rule3),
        sch_over_another_sch_time=_yn(rule4),
        visit_time_over_another_visit_time=_yn(rule5),
        sch_time_over_visit_time=_yn(rule6),
        distance=_yn(rule7),
        distance_miles=miles,
        average_miles_per_hour=mph,
        eta_travel_minutes=eta,
        minute_diff=gap,
    )


def pairs_of_group(visits: Sequence[Visit]) -> list[tuple[Visit, Visit]]:
    """Every ordered pair of a group's visits at different providers, both orientations (D4)."""
    return [
        (a, b) for a in visits for b in visits if a.visit_id != b.visit_id and a.provider_id != b.provider_id
    ]


def conflicts_of_group(
    visits: Sequence[Visit],
    bands: Sequence[Band],
    extra_distance_per: float,
) -> list[PairResult]:
    """The group's conflict rows: every candidate pair that `evaluate_pair` keeps."""
    results = (evaluate_pair(a, b, bands, extra_distance_per) for a, b in pairs_of_group(visits))
    return [r for r in results if r is not None]
