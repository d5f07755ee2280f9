"""The conflict rules of one ordered pair with every number shown, for `visit-conflicts explain`.

Detection evaluates rules 1-7 and the cross-state filter in Snowflake (`sql/snowflake/detect/
select_conflict_pairs.sql`, CTEs pair_state .. pair_flag) and only returns the pairs that conflict, with
no word on why. An explanation needs the reasons of every pair, conflict or not, so this module states
the same conditions over the visit attributes that detection's shared blocks computed for the visit
(`sql/snowflake/explain/select_visits.sql`: the D6 coordinates and the cross-state sides come from SQL,
not from here), in the same arithmetic order as the SQL:

- visit states: unstarted = no actual times, completed = both, partial = one;
- rules 1-6 (D5): exact equality, strict overlap (touching intervals do not overlap), a missing
  value makes the comparison false ('N');
- rule 7 (D7): haversine miles on a sphere of radius 6,371,008.8 m / 1,609.344 x ExtraDistancePer,
  rounded half away from zero to 2 decimals; the first half-open band [From, To) in (From, To, mph)
  order, the last band for any longer distance; ETA = ROUND(miles / mph x 60, 2); the gap in whole
  minutes from the earlier end to the later start (whole seconds first), 0 when the actual times
  overlap; 'Y' iff both completed, four coordinates, gap > 0 and ETA > gap;
- the cross-state filter (section 4) over the sides' final states.

A test proves that this agrees with the pair rows detection stored and with the development kit's
independent oracle (`devkit.rules`) on every planted case of a generated dataset
(tests/integration/test_explain.py). The runtime images carry no devkit, so nothing here imports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_MILE = 1_609.344

FLAG_NAMES = (
    "SameSchTimeFlag",
    "SameVisitTimeFlag",
    "SchAndVisitTimeSameFlag",
    "SchOverAnotherSchTimeFlag",
    "VisitTimeOverAnotherVisitTimeFlag",
    "SchTimeOverVisitTimeFlag",
    "DistanceFlag",
)

Band = tuple[float, float, float]  # (From, To, AverageMilesPerHour)


@dataclass(frozen=True)
class RuleVisit:
    """What the rules read of one visit (wall-clock times in the business time zone, as detection
    compares them; coordinates and cross-state sides as detection's SQL resolved them)."""

    visit_id: str
    provider_id: str | None
    sch_start: datetime | None
    sch_end: datetime | None
    visit_start: datetime | None
    visit_end: datetime | None
    latitude: float | None
    longitude: float | None
    p_final_state: str | None
    pa_final_state: str | None

    @property
    def state(self) -> str:
        if self.visit_start is None and self.visit_end is None:
            return "unstarted"
        if self.visit_start is not None and self.visit_end is not None:
            return "completed"
        return "partial"


def round_half_away(value: float, digits: int = 2) -> float:
    """SQL's ROUND of a double: half away from zero on the scaled binary value (Python's `round` rounds
    the exact decimal value half to even)."""
    scale = 10.0**digits
    scaled = abs(value) * scale
    whole = math.floor(scaled)
    if scaled - whole >= 0.5:
        whole += 1
    return math.copysign(whole / scale, value)


def distance_miles(v1: RuleVisit, v2: RuleVisit, extra_distance_per: float) -> float | None:
    """D7 distance, in the order of select_conflict_pairs.sql's pair_state and pair_metric."""
    if v1.latitude is None or v1.longitude is None or v2.latitude is None or v2.longitude is None:
        return None
    half_dlat_sin = math.sin((math.radians(v2.latitude) - math.radians(v1.latitude)) / 2)
    half_dlon_sin = math.sin((math.radians(v2.longitude) - math.radians(v1.longitude)) / 2)
    lat1_cos, lat2_cos = math.cos(math.radians(v1.latitude)), math.cos(math.radians(v2.latitude))
    h = half_dlat_sin * half_dlat_sin + lat1_cos * lat2_cos * half_dlon_sin * half_dlon_sin
    metres = 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
    return round_half_away(metres / METRES_PER_MILE * extra_distance_per, 2)


def speed_band(miles: float | None, bands: Sequence[Band]) -> tuple[Band | None, bool]:
    """(the band whose speed applies, whether it applies as the last band beyond its end)."""
    if miles is None or not bands:
        return None, False
    ordered = sorted(bands)
    for band in ordered:
        if band[0] <= miles < band[1]:
            return band, False
    last = ordered[-1]
    return (last, True) if miles >= last[1] else (None, False)


def eta_minutes(miles: float | None, mph: float | None) -> float | None:
    if miles is None or mph is None or mph == 0:
        return None
    return round_half_away(miles / mph * 60, 2)


def minute_gap(v1: RuleVisit, v2: RuleVisit) -> int | None:
    """Whole minutes from the earlier completed visit's end to the later one's start (whole seconds
    first: DATEDIFF(second) / 60, floored); 0 when the actual times overlap; None unless both are
    completed."""
    if v1.state != "completed" or v2.state != "completed":
        return None
    assert v1.visit_start and v1.visit_end and v2.visit_start and v2.visit_end
    if v1.visit_end <= v2.visit_start:
        end, start = v1.visit_end, v2.visit_start
    elif v2.visit_end <= v1.visit_start:
        end, start = v2.visit_end, v1.visit_start
    else:
        return 0
    seconds = int((start.replace(microsecond=0) - end.replace(microsecond=0)).total_seconds())
    return seconds // 60


def _known(*values: datetime | None) -> bool:
    return all(v is not None for v in values)


def _equal(a: tuple[datetime | None, datetime | None], b: tuple[datetime | None, datetime | None]) -> bool:
    return _known(*a, *b) and a[0] == b[0] and a[1] == b[1]


def _overlap_minutes(
    a: tuple[datetime | None, datetime | None], b: tuple[datetime | None, datetime | None]
) -> float | None:
    """Minutes two intervals share (0 when they touch or are apart); None when a bound is missing."""
    if not _known(*a, *b):
        return None
    assert a[0] and a[1] and b[0] and b[1]
    shared = (min(a[1], b[1]) - max(a[0], b[0])).total_seconds() / 60
    return round(max(shared, 0.0), 2)


def hhmm(value: datetime | None) -> str:
    return "?" if value is None else value.strftime("%H:%M:%S" if value.second else "%H:%M")


def span(a: tuple[datetime | None, datetime | None]) -> str:
    if a[0] is None and a[1] is None:
        return "none"
    return f"{hhmm(a[0])}-{hhmm(a[1])}"


def _compare(
    number: int,
    needs: tuple[str, str],
    v1: RuleVisit,
    v2: RuleVisit,
    a: tuple[datetime | None, datetime | None],
    b: tuple[datetime | None, datetime | None],
    what: str,
    equal_rule: bool,
) -> dict[str, Any]:
    """Rules 1-6: `equal_rule` (1-3) asks for identical intervals, the others (4-6) for a strict
    overlap that is not identical."""
    flag = FLAG_NAMES[number - 1]
    need_text = f"V1 {needs[0]} and V2 {needs[1]}"
    if (v1.state, v2.state) != needs:
        return _rule(number, flag, False, need_text, f"V1 is {v1.state}, V2 is {v2.state}")
    overlap = _overlap_minutes(a, b)
    pair_text = f"{what} {span(a)} and {span(b)}"
    if overlap is None:
        return _rule(number, flag, False, need_text, f"{pair_text}: a time is missing (compares as 'N')")
    same = _equal(a, b)
    if equal_rule:
        why = f"{pair_text} are identical" if same else f"{pair_text} are not identical"
        return _rule(number, flag, same, need_text, why)
    if same:
        return _rule(number, flag, False, need_text, f"{pair_text} are identical (rule {number - 3}'s case)")
    assert a[0] and a[1] and b[0] and b[1]
    strict = a[0] < b[1] and a[1] > b[0]
    if strict:
        return _rule(number, flag, True, need_text, f"{pair_text} overlap by {overlap:g} min")
    touching = a[1] == b[0] or b[1] == a[0]
    why = f"{pair_text} {'only touch' if touching else 'do not overlap'}"
    return _rule(number, flag, False, need_text, why)


def _rule(number: int, flag: str, yes: bool, needs: str, why: str) -> dict[str, Any]:
    return {"rule": number, "flag": flag, "value": "Y" if yes else "N", "needs": needs, "why": why}


def cross_state(v1: RuleVisit, v2: RuleVisit) -> dict[str, Any]:
    """The cross-state filter over the final states (patient-address states mapped to codes, or the
    provider's state for both when neither patient state is known)."""
    left = [s for s in (v1.p_final_state, v1.pa_final_state)]
    right = [s for s in (v2.p_final_state, v2.pa_final_state)]
    shown = f"V1 {_states(left)}, V2 {_states(right)}"
    common = sorted({a for a in left if a is not None} & {b for b in right if b is not None})
    if all(s is None for s in left):
        kept, why = True, "V1 has no state, so the pair is kept"
    elif all(s is None for s in right):
        kept, why = True, "V2 has no state, so the pair is kept"
    elif common:
        kept, why = True, f"{', '.join(common)} in common"
    else:
        kept, why = False, "no state in common, the pair is dropped"
    return {"v1": left, "v2": right, "kept": kept, "why": f"{shown}: {why}"}


def _states(states: list[str | None]) -> str:
    return "{" + ", ".join(s or "-" for s in states) + "}"


def evaluate(
    v1: RuleVisit, v2: RuleVisit, bands: Sequence[Band], extra_distance_per: float
) -> dict[str, Any]:
    """Every rule of the ordered pair (v1, v2) with its numbers, the cross-state filter, and whether the
    rules make it a conflict (at least one 'Y' and kept by the filter). Whether the visits may be
    paired at all (exclusions, window, same group) is the caller's part."""
    sch1, sch2 = (v1.sch_start, v1.sch_end), (v2.sch_start, v2.sch_end)
    act1, act2 = (v1.visit_start, v1.visit_end), (v2.visit_start, v2.visit_end)
    u, c = "unstarted", "completed"
    rules = [
        _compare(1, (u, u), v1, v2, sch1, sch2, "schedules", True),
        _compare(2, (c, c), v1, v2, act1, act2, "actual times", True),
        _compare(3, (u, c), v1, v2, sch1, act2, "V1's schedule and V2's actual times", True),
        _compare(4, (u, u), v1, v2, sch1, sch2, "schedules", False),
        _compare(5, (c, c), v1, v2, act1, act2, "actual times", False),
        _compare(6, (u, c), v1, v2, sch1, act2, "V1's schedule and V2's actual times", False),
    ]
    miles = distance_miles(v1, v2, extra_distance_per)
    band, beyond = speed_band(miles, bands)
    mph = band[2] if band else None
    eta = eta_minutes(miles, mph)
    gap = minute_gap(v1, v2)
    coordinates = all(x is not None for x in (v1.latitude, v1.longitude, v2.latitude, v2.longitude))
    rule7 = v1.state == c and v2.state == c and coordinates and gap is not None and gap > 0
    rule7 = rule7 and eta is not None and gap is not None and eta > gap
    rules.append(
        _rule(
            7,
            FLAG_NAMES[6],
            rule7,
            "both completed, four coordinates, gap > 0 and ETA > gap",
            _rule7_why(v1, v2, coordinates, miles, band, beyond, eta, gap),
        )
    )
    crossing = cross_state(v1, v2)
    any_yes = any(r["value"] == "Y" for r in rules)
    return {
        "states": [v1.state, v2.state],
        "overlap_minutes": {
            "schedules": _overlap_minutes(sch1, sch2),
            "actual_times": _overlap_minutes(act1, act2),
            "v1_schedule_v2_actual": _overlap_minutes(sch1, act2),
        },
        "distance": {
            "coordinates_known": coordinates,
            "miles": miles,
            "band": list(band) if band else None,
            "beyond_last_band": beyond,
            "mph": mph,
            "eta_minutes": eta,
            "gap_minutes": gap,
            "extra_distance_per": extra_distance_per,
        },
        "rules": rules,
        "flags": {r["flag"]: r["value"] for r in rules},
        "cross_state": crossing,
        "rules_conflict": any_yes and crossing["kept"],
    }


def _rule7_why(
    v1: RuleVisit,
    v2: RuleVisit,
    coordinates: bool,
    miles: float | None,
    band: Band | None,
    beyond: bool,
    eta: float | None,
    gap: int | None,
) -> str:
    if v1.state != "completed" or v2.state != "completed":
        return f"V1 is {v1.state}, V2 is {v2.state}"
    if not coordinates:
        return "a coordinate is missing (no usable GPS text and no patient GPS address)"
    if band is None:
        band_text = "no MPH band contains it, so no speed and no ETA"
    else:
        edge = (
            f"beyond the last band [{band[0]:g}, {band[1]:g})"
            if beyond
            else f"band [{band[0]:g}, {band[1]:g})"
        )
        band_text = f"{edge} at {band[2]:g} mph"
    eta_text = "no ETA" if eta is None else f"ETA {eta:.2f} min"
    gap_text = "gap 0 min (the actual times overlap)" if gap == 0 else f"gap {gap} min"
    verdict = (
        "ETA > gap > 0"
        if eta is not None and gap and eta > gap
        else ("needs gap > 0" if not gap else "ETA is not above the gap")
    )
    return f"{miles:.2f} mi, {band_text}: {eta_text}, {gap_text}: {verdict}"
