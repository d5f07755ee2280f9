"""The visit window (D1: both ends inclusive) and the bad rows detection skips and counts (D23).

Conflicts on the first and last date of the window are found; conflicts a day outside it, visits whose ids
do not parse, whose end precedes their start, or whose caregiver SSN is blank or NULL are skipped with the
reason the manifest records under `skipped`.
"""

from __future__ import annotations

from datetime import timedelta

from devkit.generate.cases.planter import DONE, LATE, R4, R5, Planter, both


def plant_window_cases(p: Planter) -> None:
    """The window's inclusive ends and the D23 bad rows."""
    p.scenario(
        "window_start_inclusive",
        "A conflict on the first date of the window.",
        ["D1"],
        p.ctx.window_start,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    p.scenario(
        "window_end_inclusive",
        "A conflict on the last date of the window.",
        ["D1"],
        p.ctx.window_end,
        [("v1", "A", {}), ("v2", "B", {"sch": ("11:00", "15:00")})],
        lambda v: {"pairs": both(v["v1"], v["v2"], R4)},
    )
    p.scenario(
        "bad_date_before_window",
        "A conflict dated the day before the window, updated in the delta.",
        ["D1", "D23"],
        p.ctx.window_start - timedelta(days=1),
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"skipped": {"reason": "date_outside_window", "visits": [v["v1"], v["v2"]]}},
    )
    p.scenario(
        "bad_date_after_window",
        "A conflict dated the day after the window, updated in the delta.",
        ["D1", "D23"],
        p.ctx.window_end + timedelta(days=1),
        [("v1", "A", {}), ("v2", "B", {"sch": ("11:00", "15:00")})],
        lambda v: {"skipped": {"reason": "date_outside_window", "visits": [v["v1"], v["v2"]]}},
    )
    p.scenario(
        "bad_unparseable_visit_id",
        'A visit whose "Visit Id" is not a UUID overlaps a valid visit.',
        ["D23"],
        p.past,
        [("v1", "A", DONE | {"visit_id": f"VISIT-{p.ctx.seed}-NOT-A-UUID"}), ("v2", "B", LATE)],
        lambda v: {"skipped": {"reason": "unparseable_id", "visits": [v["v1"]]}},
    )
    p.scenario(
        "bad_unparseable_app_visit_id",
        'A visit whose "Application Visit Id" is not an integer.',
        ["D23"],
        p.past,
        [("v1", "A", DONE | {"app_visit_id": "APP-12X"}), ("v2", "B", LATE)],
        lambda v: {"skipped": {"reason": "unparseable_id", "visits": [v["v1"]]}},
    )
    p.scenario(
        "bad_visit_end_before_start",
        "A completed visit whose actual end is before its start; read naively it would overlap v2 (rule 5).",
        ["D23"],
        p.past,
        [
            ("v1", "A", {"actual": ("13:00", "09:00")}),
            ("v2", "B", {"sch": ("08:00", "14:00"), "actual": ("08:00", "14:00")}),
        ],
        lambda v: {"skipped": {"reason": "end_before_start", "visits": [v["v1"]]}},
    )
    p.scenario(
        "bad_schedule_end_before_start",
        "An unstarted visit whose scheduled end precedes its start; read naively it overlaps v2 (rule 4).",
        ["D23"],
        p.future,
        [("v1", "A", {"sch": ("13:00", "09:00")}), ("v2", "B", {"sch": ("08:00", "14:00")})],
        lambda v: {"skipped": {"reason": "end_before_start", "visits": [v["v1"]]}},
    )
    p.scenario(
        "bad_blank_ssn",
        "Overlapping visits of two caregiver records whose SSN is blank ('   ', '').",
        ["D23", "SSN blank"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"skipped": {"reason": "blank_ssn", "visits": [v["v1"], v["v2"]]}},
        stored_ssn=lambda ssn, key: "   " if key == "A" else "",
        group_ssn=None,
    )
    p.scenario(
        "bad_null_ssn",
        "Overlapping visits of two caregiver records whose SSN is NULL.",
        ["D23", "SSN blank"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"skipped": {"reason": "blank_ssn", "visits": [v["v1"], v["v2"]]}},
        stored_ssn=lambda ssn, key: None,
        group_ssn=None,
    )
