"""The D7 travel arithmetic, stated once: great-circle distance, the speed band of a distance and the ETA.

Both the rules oracle (`devkit.rules`) and the generator's planted rule-7 cases (`devkit.generate.cases`)
compute with these functions, so the distances and ETAs a manifest promises are, to the bit, the ones the
oracle derives from the same coordinates.

Rounding is half away from zero on the scaled binary value (Snowflake's and PostgreSQL's ROUND of a
double), not Python's `round`, which rounds the exact decimal value half to even.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_MILE = 1_609.344

Point = tuple[float, float]  # (latitude, longitude) in degrees
Band = tuple[float, float, float]  # (From, To, AverageMilesPerHour), half-open [From, To)


def round_half_away(value: float, digits: int = 2) -> float:
    """Round half away from zero at `digits` decimals, computed on the scaled binary value."""
    scale = 10.0**digits
    scaled = abs(value) * scale
    whole = math.floor(scaled)
    if scaled - whole >= 0.5:
        whole += 1
    return math.copysign(whole / scale, value)


def great_circle_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in statute miles on a sphere of radius 6,371,008.8 m (unrounded)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dlat = math.sin((phi2 - phi1) / 2)
    half_dlon = math.sin((math.radians(lon2) - math.radians(lon1)) / 2)
    h = half_dlat * half_dlat + math.cos(phi1) * math.cos(phi2) * half_dlon * half_dlon
    # min(): rounding can push h a hair above 1 for antipodal points, outside asin's domain.
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h))) / METRES_PER_MILE


def distance_miles(a: Point, b: Point, extra_distance_per: float) -> float:
    """D7: great-circle miles between two points times the multiplier, rounded to 2 decimals."""
    return round_half_away(great_circle_miles(a[0], a[1], b[0], b[1]) * extra_distance_per, 2)


def band_speed(miles: float | None, bands: Sequence[Band]) -> float | None:
    """Average speed for a distance. Bands are (From, To, mph), half-open [From, To), taken in
    (From, To, mph) order; the first band containing the distance wins. A distance at or beyond the
    last band's To (no band containing it) uses the last band's speed; anything else has none."""
    if miles is None or not bands:
        return None
    ordered = sorted(bands)
    for low, high, mph in ordered:
        if low <= miles < high:
            return mph
    _, last_high, last_mph = ordered[-1]
    return last_mph if miles >= last_high else None


def eta_minutes(miles: float | None, mph: float | None) -> float | None:
    """Minutes to travel `miles` at `mph`, rounded to 2 decimals; None without a distance or a speed."""
    if miles is None or mph is None or mph == 0:
        return None
    return round_half_away(miles / mph * 60, 2)
