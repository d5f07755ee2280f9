"""Rule 7, the travel-time rule (D6 coordinates, D7 distance, speed band and ETA).

The standard shape: v1 at BASE_POINT 08:00-12:00 at agency A, v2 `miles_apart` due north at agency B from
12:30, a 30-minute gap. Cases straddle the ETA (just above, just below), the band edges (half-open, beyond
the last band), the GPS parsing and fallbacks (quoted text, call-in instead of call-out, out-of-range and
unparseable text, the patient's GPS address) and the cases where the gap is 0 or a visit is not completed.
Expectations carry the distance, speed, ETA and gap from `devkit.geometry`, as the oracle computes them.
"""

from __future__ import annotations

from typing import Any

from devkit.generate.cases.planter import BASE_POINT, R5, R7, Planter, both, gps, north_of, travel_metrics


def plant_distance_cases(p: Planter) -> None:
    """Rule 7's cases, in the order their patients and visits take ids."""
    _rule7(
        p,
        "rule7_distance_just_above_eta",
        "ETA 30.6 min > 30-min gap (12.75 mi at 25 mph).",
        12.75,
        fires=True,
    )
    _rule7(
        p,
        "rule7_distance_just_below_eta",
        "ETA 29.4 min < 30-min gap (12.25 mi at 25 mph).",
        12.25,
        fires=False,
    )
    _rule7(
        p,
        "rule7_beyond_last_band",
        "40 mi is beyond the last band, so its 25 mph applies: ETA 96 > 60.",
        40.0,
        fires=True,
        v2_times=("13:00", "17:00"),
        gap=60,
    )
    _rule7(
        p,
        "rule7_band_edge_half_open",
        "10.00 mi is in [10, 25) at 25 mph (ETA 24 < 30); an inclusive [5, 10] band would give 40 > 30.",
        10.002,
        fires=False,
    )
    quoted_far = north_of(BASE_POINT, 12.75)
    _rule7(
        p,
        "rule7_gps_quoted",
        "Call GPS text wrapped in double quotes is parsed after stripping them.",
        12.75,
        fires=True,
        spec=("rule 7", "D6"),
        v1={"gps_in": f'"{gps(BASE_POINT)}"', "gps_out": f'"{gps(BASE_POINT)}"'},
        v2={"gps_in": f'"{gps(quoted_far)}"', "gps_out": f'"{gps(quoted_far)}"'},
    )
    _rule7(
        p,
        "rule7_call_in_gps_fallback",
        "No call-out GPS: the call-in GPS is used (patients sit at one point).",
        12.75,
        fires=True,
        spec=("rule 7", "D6"),
        v1={"gps_out": None},
        v2={"gps_out": ","},
    )
    _rule7(
        p,
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
    _rule7(
        p,
        "rule7_gps_unparseable",
        "Unparseable call GPS text and no patient GPS address: no coordinates.",
        40.0,
        fires=False,
        spec=("rule 7", "D6"),
        v1={"gps_out": "N/A", "gps_in": "abc,def", "patient": p.patient(p.providers["A"], gps_address=False)},
    )
    _rule7(
        p,
        "rule7_overlap_no_distance_flag",
        "Overlapping visits 40 mi apart: rule 5 only, the gap is 0 (D7).",
        40.0,
        fires=False,
        v2_times=("11:00", "15:00"),
        gap=0,
    )
    # The standard shape only expects rule 7; overlapping visits are a rule-5 pair instead.
    p.out.cases["rule7_overlap_no_distance_flag"]["expect"]["pairs"] = both(
        *p.out.cases["rule7_overlap_no_distance_flag"]["visits"], R5
    )
    _rule7(
        p,
        "rule7_touching_gap_zero",
        "Touching visits 40 mi apart: gap 0, so no distance flag.",
        40.0,
        fires=False,
        v2_times=("12:00", "16:00"),
        gap=0,
    )
    p.scenario(
        "rule7_needs_both_completed",
        "A completed visit and an unstarted one 40 mi away 30 min later: rule 7 needs two completed visits.",
        ["rule 7", "D7"],
        p.past,
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
    p.scenario(
        "rule7_patient_address_fallback",
        "No call GPS on either visit: the provider-side patients' primary GPS addresses are used.",
        ["rule 7", "D6"],
        p.past,
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
        lambda v: {"pairs": both(v["v1"], v["v2"], R7, **travel_metrics(far, 30))},
    )


def _rule7(
    p: Planter,
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
    """A case of the standard shape; `v1`/`v2` override the visits' arguments."""
    far = north_of(BASE_POINT, miles_apart)
    metrics = travel_metrics(far, gap)
    first = {
        "sch": ("08:00", "12:00"),
        "actual": ("08:00", "12:00"),
        "gps_in": gps(BASE_POINT),
        "gps_out": gps(BASE_POINT),
    } | (v1 or {})
    second = {"sch": v2_times, "actual": v2_times, "gps_in": gps(far), "gps_out": gps(far)} | (v2 or {})
    p.scenario(
        name,
        description,
        list(spec),
        p.past,
        [("v1", "A", first), ("v2", "B", second)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R7, **metrics) if fires else [], "rule7": metrics},
    )
