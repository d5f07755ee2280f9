"""Planted cases: small, isolated visit groups whose expected outcome is known exactly.

Each case has its own person (a planted SSN in the 9xx area, which the bulk never uses), so its group
(one SSN on one date) contains only the case's visits. Cases use dedicated agencies (A, B, C active in NY;
excluded, inactive, demo and out-of-state ones), their own patients and, unless the case says otherwise, a
"Visit Updated Timestamp" three hours before the anchor, i.e. inside the 36-hour delta window.

The manifest records, per case: the visit ids by role, the SSN and date of the group, the spec items it
exercises, `visit_details` (agency key, New York wall-clock scheduled and actual times, Is Missed),
and `expect`, the outcome of a first run at `now = anchor` with the default parameters:
`pairs` (the regular ordered pairs and the rule flags that are 'Y'), and where relevant
`pairs_full_window`, `inservice_pairs`, `skipped` (D23 reason), `status_after_run` and `coordinates`.
Rule 7 expectations carry the distance, speed, ETA and gap computed with the D7 formula.

Module map: `planter` (entities, ids, row builders, the common case shape) and one module per section of
cases, each a `plant_*_cases(planter)` function: `time_rules` (rules 1-6 and boundaries), `window` (the
visit window and D23 bad rows), `exclusions` (exclusion lists and agency filters), `cross_state`,
`distance` (rule 7), `fanout` (D8), `inservice`, `deleted`; and `bad_input`, the D23 catalogue planted on
request.
"""

from __future__ import annotations

from devkit.generate.cases.bad_input import plant_bad_input
from devkit.generate.cases.cross_state import plant_cross_state_cases
from devkit.generate.cases.deleted import plant_deleted_cases
from devkit.generate.cases.distance import plant_distance_cases
from devkit.generate.cases.exclusions import plant_exclusion_cases
from devkit.generate.cases.fanout import plant_fanout_cases
from devkit.generate.cases.inservice import plant_inservice_cases
from devkit.generate.cases.planter import EXTRA_DISTANCE_PER, MPH_BANDS, Planted, Planter
from devkit.generate.cases.time_rules import plant_time_rule_cases
from devkit.generate.cases.window import plant_window_cases
from devkit.generate.context import GenContext

__all__ = ["EXTRA_DISTANCE_PER", "MPH_BANDS", "Planted", "plant_cases"]

# The order is part of the output: every section draws ids from the one case stream and the per-kind
# counters, so reordering sections would change every id planted after the first moved one.
SECTIONS = (
    plant_time_rule_cases,
    plant_window_cases,
    plant_exclusion_cases,
    plant_cross_state_cases,
    plant_distance_cases,
    plant_fanout_cases,
    plant_inservice_cases,
    plant_deleted_cases,
)


def plant_cases(ctx: GenContext, *, bad_input: bool = False) -> Planted:
    """Every planted case, with the rows of every source table they need and the exclusion lists; with
    `bad_input`, the bad-input catalogue as well (drawn last, so nothing else changes)."""
    planter = Planter(ctx)
    for plant_section in SECTIONS:
        plant_section(planter)
    if bad_input:
        plant_bad_input(planter)
    return planter.out
