"""Rules 1-6 and their exact boundaries (D5: strict overlap, NULL means 'N', each orientation on its own).

One case per rule, then the boundaries that must not fire: touching schedules and visits (strict overlap),
partial visits (one actual time only), NULL schedule times and one agency twice (not a pair). Around them:
a missed visit (rule 6 fires; status management then resolves it), three agencies at once (D4), a
conflict whose visits were both updated before the cutoff (outside the delta, D2) and one with only one
visit in the delta (D4: both orientations are still evaluated).
"""

from __future__ import annotations

from datetime import timedelta

from devkit.generate.cases.planter import DONE, LATE, R1, R2, R3, R4, R5, R6, Planter, both, pair


def plant_time_rule_cases(p: Planter) -> None:
    """Rules 1-6 and their boundaries."""
    p.scenario(
        "rule1_same_schedule",
        "Two unstarted visits with identical schedules at two agencies.",
        ["rule 1", "D5"],
        p.future,
        [("v1", "A", {}), ("v2", "B", {})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R1)},
    )
    p.scenario(
        "rule2_same_visit_time",
        "Two completed visits with identical actual times (schedules differ).",
        ["rule 2", "D5"],
        p.past,
        [
            ("v1", "A", {"sch": ("09:00", "13:00"), "actual": ("09:05", "13:02")}),
            ("v2", "B", {"sch": ("09:15", "13:15"), "actual": ("09:05", "13:02")}),
        ],
        lambda v: {"pairs": both(v["v1"], v["v2"], R2)},
    )
    p.scenario(
        "rule3_schedule_equals_visit",
        "An unstarted visit whose schedule equals the actual times of a completed one; only the "
        "unstarted-first orientation fires.",
        ["rule 3", "D5"],
        p.past,
        [("v1", "A", {}), ("v2", "B", {"sch": ("09:30", "13:30"), "actual": ("09:00", "13:00")})],
        lambda v: {"pairs": [pair(v["v1"], v["v2"], R3)]},
    )
    p.scenario(
        "rule4_schedule_overlap",
        "Two unstarted visits with overlapping schedules.",
        ["rule 4", "D5"],
        p.future,
        [("v1", "A", {}), ("v2", "B", {"sch": ("11:00", "15:00")})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R4)},
    )
    p.scenario(
        "rule5_visit_overlap",
        "Two completed visits with overlapping actual times.",
        ["rule 5", "D5"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    p.scenario(
        "rule6_schedule_over_visit",
        "An unstarted visit whose schedule overlaps a completed visit; only the unstarted-first orientation.",
        ["rule 6", "D5"],
        p.past,
        [("v1", "A", {}), ("v2", "B", LATE)],
        lambda v: {"pairs": [pair(v["v1"], v["v2"], R6)]},
    )
    p.scenario(
        "touching_schedules_no_overlap",
        "Unstarted schedules that touch (end == start): no rule 4.",
        ["rule 4", "strict overlap"],
        p.future,
        [("v1", "A", {}), ("v2", "B", {"sch": ("13:00", "17:00")})],
        lambda v: {},
    )
    p.scenario(
        "touching_visits_no_overlap",
        "Completed visits that touch (end == start) at the same place: no rule 5, and no rule 7 (gap 0).",
        ["rule 5", "rule 7", "strict overlap", "D7"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", {"sch": ("13:00", "17:00"), "actual": ("13:00", "17:00")})],
        lambda v: {},
    )
    p.scenario(
        "touching_schedule_visit_no_overlap",
        "An unstarted schedule touching a completed visit: no rule 6.",
        ["rule 6", "strict overlap"],
        p.past,
        [("v1", "A", {}), ("v2", "B", {"sch": ("13:00", "17:00"), "actual": ("13:00", "17:00")})],
        lambda v: {},
    )
    p.scenario(
        "partial_visit_start_only",
        "A visit with a start but no end overlapping a completed visit: partial visits fire no rule.",
        ["rules 1-7", "partial visit"],
        p.past,
        [
            ("v1", "A", {"actual": ("09:00", None)}),
            ("v2", "B", {"sch": ("10:00", "14:00"), "actual": ("10:00", "14:00")}),
        ],
        lambda v: {},
    )
    p.scenario(
        "partial_visit_end_only",
        "A visit with an end but no start against an overlapping unstarted schedule: no rule.",
        ["rules 1-7", "partial visit"],
        p.past,
        [("v1", "A", {"actual": (None, "13:00")}), ("v2", "B", {"sch": ("10:00", "14:00")})],
        lambda v: {},
    )
    p.scenario(
        "null_schedule_times",
        "An unstarted visit without scheduled times next to an unstarted visit.",
        ["rules 1, 4", "NULL means N"],
        p.future,
        [("v1", "A", {"sch": None}), ("v2", "B", {})],
        lambda v: {},
    )
    p.scenario(
        "missed_visit_conflict",
        "A missed visit (no actual times) whose schedule overlaps a completed visit elsewhere: rule 6 "
        "fires (detection does not filter on Is Missed) and status management resolves it.",
        ["rule 6", "Is Missed", "task03 A-3/A-4"],
        p.past,
        [
            ("v1", "A", {"missed": True}),
            ("v2", "B", {"sch": ("10:00", "14:00"), "actual": ("10:00", "14:00")}),
        ],
        lambda v: {"pairs": [pair(v["v1"], v["v2"], R6)], "is_missed": [v["v1"]], "status_after_run": "R"},
    )
    p.scenario(
        "three_agencies_overlap",
        "Three completed, pairwise overlapping visits at three agencies.",
        ["rule 5", "D4"],
        p.past,
        [
            ("v1", "A", DONE),
            ("v2", "B", {"sch": ("10:00", "14:00"), "actual": ("10:00", "14:00")}),
            ("v3", "C", {"sch": ("11:00", "15:00"), "actual": ("11:00", "15:00")}),
        ],
        lambda v: {
            "pairs": both(v["v1"], v["v2"], R5) + both(v["v1"], v["v3"], R5) + both(v["v2"], v["v3"], R5)
        },
    )
    p.scenario(
        "same_agency_overlap_not_a_pair",
        "Overlapping visits at one agency are never a pair.",
        ["pair condition"],
        p.past,
        [("v1", "A", DONE), ("v2", "A", LATE)],
        lambda v: {},
    )
    old = p.ctx.anchor - timedelta(days=5)
    p.scenario(
        "conflict_outside_delta",
        "A rule-5 conflict whose visits were both updated before the cutoff: out of the delta scope.",
        ["D2", "D4", "delta"],
        p.past,
        [("v1", "A", DONE | {"updated": old}), ("v2", "B", LATE | {"updated": old})],
        lambda v: {"pairs": [], "pairs_full_window": both(v["v1"], v["v2"], R5), "in_delta": False},
    )
    p.scenario(
        "delta_one_side_only",
        "Only one visit was updated since the cutoff; both orientations are evaluated (D4).",
        ["D4"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE | {"updated": p.ctx.anchor - timedelta(days=10)})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
