"""The legacy's cross-state filter (D5): which pairs of overlapping visits are kept by state.

Each case is a rule-5 overlap between two agencies whose patients' provider-side and payer-side address
states (and, when both are blank, the agencies' states) decide whether the pair is kept: any match keeps
it, an undeterminable side keeps it, full names map to codes for patients but not for agencies
(docs/legacy-differences.md, "Legacy behaviour the code refers to").
"""

from __future__ import annotations

from typing import Any

from devkit.generate.cases.planter import DONE, LATE, R5, Expect, Planter, both

# (name, description, agency 1, (patient state, payer-side state) 1, agency 2, states 2, kept)
CROSS_STATE_CASES: list[tuple[str, str, str, tuple[Any, Any], str, tuple[Any, Any], bool]] = [
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


def plant_cross_state_cases(p: Planter) -> None:
    """One rule-5 case per row of CROSS_STATE_CASES; each visit gets its own patient with those states."""
    for name, description, k1, s1, k2, s2, kept in CROSS_STATE_CASES:
        p.scenario(
            name,
            description,
            ["cross-state filter", "D5"],
            p.past,
            [("v1", k1, DONE | _states(p, *s1, key=k1)), ("v2", k2, LATE | _states(p, *s2, key=k2))],
            _kept_pairs(kept),
        )


def _states(p: Planter, p_state: Any, pa_state: Any, key: str = "A") -> dict[str, Any]:
    """Visit arguments giving the visit a new patient of agency `key` with these address states."""
    return {"patient": p.patient(p.providers[key], p_state=p_state, pa_state=pa_state)}


def _kept_pairs(kept: bool) -> Expect:
    return lambda v: {"pairs": both(v["v1"], v["v2"], R5) if kept else []}
