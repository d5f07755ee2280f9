"""The bad-input catalogue (D23), planted on request (`generate --bad-input`): one small group per kind of
bad source data, each beside a good visit it would otherwise conflict with, and the counter each kind
must move in the step result and the report.

Every kind is either skipped (the row never reaches a pair: `skipped_*`) or used with the bad value
ignored (`noted_*`); none may abort a run or leave a partial pair. The manifest's `bad_input` lists, per
kind: `kind`, `step`, `counter` and `count` (rows, or for oversized text the pairs dropped), whether the
good visit and the bad one still conflict, and the visit ids it planted (good first). The catalogue
draws its ids after every planted case, so a generation without it is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from devkit.generate.cases.planter import DONE, LATE, Caregiver, Planter

# Kinds whose bad row leaves the good pair alone: one copy of a duplicated row is used; a deletion record
# whose id does not parse cannot delete the visit it was meant for.
_STILL_CONFLICT = frozenset({"duplicate_source_row", "deleted_visit_bad_id"})
# A provider name longer than conflictvisitmaps."ProviderName" (varchar(100)) can hold.
OVERSIZED_NAME = "Agency " + "X" * 293


def plant_bad_input(p: Planter) -> None:
    """Every kind of the catalogue, each in a group of its own."""
    for kind, step, counter, count, plant in _KINDS:
        visits = plant(p)
        p.out.bad_input.append(
            {
                "kind": kind,
                "step": step,
                "counter": counter,
                "count": count,
                # Whether the good visit and the bad one still conflict: the bad row is used (its bad
                # value ignored, or one of its copies kept).
                "conflicts": counter.startswith("noted_") or kind in _STILL_CONFLICT,
                "visits": visits,
            }
        )


def _person(p: Planter, ssn: str | None = None) -> tuple[Caregiver, Caregiver]:
    """One person (a fresh planted SSN unless given) with a caregiver record at agencies A and B."""
    ssn = p.new_ssn() if ssn is None else ssn
    return p.caregiver(ssn, p.providers["A"]), p.caregiver(ssn, p.providers["B"])


def _beside_good(columns: dict[str, Any] | None = None, **kwargs: Any) -> Callable[[Planter], list[str]]:
    """A good completed visit at A and a bad one at B overlapping it (rule 5 if the bad one were good)."""

    def plant(p: Planter) -> list[str]:
        a, b = _person(p)
        good = p.visit(a, p.past, **DONE)
        bad = p.visit(b, p.past, **(LATE | kwargs), columns=columns)
        return [good, bad]

    return plant


def _null_provider(p: Planter) -> list[str]:
    a, b = _person(p)
    return [p.visit(a, p.past, **DONE), p.visit(b, p.past, **LATE, columns={"Provider Id": None})]


def _unknown_provider(p: Planter) -> list[str]:
    a, b = _person(p)
    return [p.visit(a, p.past, **DONE), p.visit(b, p.past, **LATE, columns={"Provider Id": p.uuid()})]


def _missing_caregiver(p: Planter) -> list[str]:
    a, _ = _person(p)
    ghost = Caregiver(p.uuid(), p.next("caregiver", 90_000_000), p.providers["B"])  # no dimension row
    return [p.visit(a, p.past, **DONE), p.visit(ghost, p.past, **LATE)]


def _malformed_ssn(p: Planter) -> list[str]:
    a, _ = _person(p)
    wrong = p.caregiver("12-34-567X", p.providers["B"])
    return [p.visit(a, p.past, **DONE), p.visit(wrong, p.past, **LATE)]


def _blank_ssn(p: Planter) -> list[str]:
    a, _ = _person(p)
    blank = p.caregiver("  ", p.providers["B"])
    return [p.visit(a, p.past, **DONE), p.visit(blank, p.past, **LATE)]


def _outside_window(p: Planter) -> list[str]:
    a, b = _person(p)
    day = p.ctx.window_end + timedelta(days=3)
    return [p.visit(a, day), p.visit(b, day, sch=("11:00", "15:00"))]


def _duplicate_row(p: Planter) -> list[str]:
    a, b = _person(p)
    good = p.visit(a, p.past, **DONE)
    bad = p.visit(b, p.past, **LATE)
    p.out.rows["FACTVISITCALLPERFORMANCE_CR"].append(dict(p.out.rows["FACTVISITCALLPERFORMANCE_CR"][-1]))
    return [good, bad]


def _oversized_text(p: Planter) -> list[str]:
    if "LONG_NAME" not in p.providers:
        p.providers["LONG_NAME"] = p._provider(
            "LONG_NAME", state="NY", active=True, demo=False, name=OVERSIZED_NAME
        )
    ssn = p.new_ssn()
    a, long = p.caregiver(ssn, p.providers["A"]), p.caregiver(ssn, p.providers["LONG_NAME"])
    return [p.visit(a, p.past, **DONE), p.visit(long, p.past, **LATE)]


def _event_without_caregiver(p: Planter) -> list[str]:
    a, _ = _person(p)
    visit = p.visit(a, p.past, **DONE)
    ghost = Caregiver(p.uuid(), p.next("caregiver", 90_000_000), p.providers["B"])  # no dimension row
    return [visit, p.event(ghost, p.past, "10:00", "11:00")]


def _deleted_with_bad_id(p: Planter) -> list[str]:
    a, b = _person(p)
    good = p.visit(a, p.past, **DONE)
    bad = p.visit(b, p.past, **LATE)
    p.delete(bad, updated=p.ctx.anchor.astimezone(UTC) - timedelta(hours=2))
    p.out.rows["FACTVISITCALLPERFORMANCE_DELETED_CR"][-1]["Visit Id"] = "DELETED-NOT-A-UUID"
    return [good, bad]


_Kind = tuple[str, str, str, int, Callable[[Planter], list[str]]]
# kind, step, counter, count, how to plant it
_KINDS: tuple[_Kind, ...] = (
    (
        "unparseable_visit_id",
        "plan",
        "skipped_invalid_visit_id",
        1,
        _beside_good(visit_id="VISIT-X"),
    ),
    ("null_visit_id", "plan", "skipped_invalid_visit_id", 1, _beside_good(columns={"Visit Id": None})),
    ("unparseable_app_visit_id", "plan", "skipped_invalid_visit_id", 1, _beside_good(app_visit_id="12-AB")),
    ("end_before_start", "plan", "skipped_end_before_start", 1, _beside_good(actual=("14:00", "10:00"))),
    ("outside_window", "plan", "skipped_outside_window", 2, _outside_window),
    ("blank_ssn", "plan", "skipped_blank_ssn", 1, _blank_ssn),
    ("malformed_ssn", "plan", "skipped_invalid_ssn", 1, _malformed_ssn),
    ("gps_garbage", "plan", "noted_unusable_gps", 1, _beside_good(gps_out="not,a place", gps_in='"abc"')),
    ("gps_out_of_range", "plan", "noted_unusable_gps", 1, _beside_good(gps_out="95.5,-200.25")),
    ("duplicate_source_row", "plan", "skipped_duplicate_visit_row", 1, _duplicate_row),
    ("oversized_text", "detect", "skipped_oversized_text", 2, _oversized_text),
    ("unknown_enum", "plan", "noted_unknown_bill_value", 1, _beside_good(columns={"Bill Type": "Weekly"})),
    ("missing_dimension_row", "plan", "skipped_missing_caregiver", 1, _missing_caregiver),
    ("unknown_provider", "plan", "skipped_missing_provider", 1, _unknown_provider),
    ("null_provider", "plan", "skipped_invalid_provider_id", 1, _null_provider),
    ("event_without_caregiver", "inservice", "skipped_event_blank_ssn", 1, _event_without_caregiver),
    ("deleted_visit_bad_id", "status_b", "skipped_invalid_visit_id", 1, _deleted_with_bad_id),
)
