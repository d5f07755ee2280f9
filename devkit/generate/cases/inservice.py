"""InService overlaps (D14): completed visits at A against trainings elsewhere.

A training of the same person at another agency that overlaps (or touches: closed intervals) a completed
visit is an InService pair (D14); a training of the visit's own record at A makes the visit ineligible,
and missed, unstarted or non-overlapping visits and trainings at excluded agencies give none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from devkit.generate.cases.planter import DONE, Caregiver, Planter, both


def plant_inservice_cases(p: Planter) -> None:
    """InService cases: each a visit at A and the trainings listed as (agency, start, end)."""
    _inservice(
        p,
        "inservice_other_agency_overlap",
        "A completed visit at A overlaps a training at B.",
        DONE,
        [("B", "11:00", "12:00")],
        True,
    )
    _inservice(
        p,
        "inservice_touching_counts",
        "The training at B starts when the visit ends (closed interval).",
        DONE,
        [("B", "13:00", "14:00")],
        True,
    )
    _inservice(
        p,
        "inservice_same_agency_drops_visit",
        "The visit also overlaps a training of its own record at A, so it is not eligible at all.",
        DONE,
        [("B", "11:00", "12:00"), ("A", "10:00", "11:00")],
        False,
        helper=False,
    )
    _inservice(
        p,
        "inservice_missed_visit_ignored",
        "A missed visit (with actual times) is not eligible.",
        DONE | {"missed": True},
        [("B", "10:00", "11:00")],
        False,
    )
    _inservice(
        p,
        "inservice_unstarted_visit_ignored",
        "A visit without actual times is not eligible.",
        {"sch": ("09:00", "13:00")},
        [("B", "10:00", "11:00")],
        False,
    )
    _inservice(
        p,
        "inservice_no_overlap",
        "The training at B starts an hour after the visit ends.",
        DONE,
        [("B", "14:00", "15:00")],
        False,
    )
    _inservice(
        p,
        "inservice_excluded_agency",
        "The overlapping training is at an excluded agency.",
        DONE,
        [("EXCLUDED_2", "10:00", "11:00")],
        False,
    )


def _inservice(
    p: Planter,
    name: str,
    description: str,
    visit: Mapping[str, Any],
    events: list[tuple[str, str, str]],
    expect_pairs: bool,
    *,
    helper: bool = True,
) -> None:
    """A visit of a new person at A on the day before the anchor, and trainings of the same person."""
    ssn = p.new_ssn()
    records: dict[str, Caregiver] = {}

    def record(key: str) -> Caregiver:
        if key not in records:
            records[key] = p.caregiver(ssn, p.providers[key])
        return records[key]

    vid = p.visit(record("A"), p.past, **visit)
    event_ids = {}
    for i, (key, start, end) in enumerate(events, 1):
        event_ids[f"e{i}"] = p.event(record(key), p.past, start, end)
    if helper:
        # The visit's own caregiver record needs an InService event in the window (the legacy
        # caregiver semi-join); this one is at A, a week earlier, with nothing to overlap.
        helper_day = p.ctx.anchor_date - timedelta(days=8)
        event_ids["helper"] = p.event(record("A"), helper_day, "09:00", "10:00")
    pairs = []
    if expect_pairs:
        pairs = both(vid, event_ids["e1"])
        for entry in pairs:
            entry.pop("flags")
    p.case(
        name,
        description=description,
        spec=["InService", "D14", "other-actions C.2"],
        ssn=ssn,
        day=p.past,
        roles={"visit": vid},
        events=event_ids,
        expect={"inservice_pairs": pairs},
    )
