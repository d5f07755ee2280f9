"""Deleted visits (status management, phase B): conflicts whose visit is in DELETED_CR.

A deleted visit updated in the delta turns its pairs to status 'D' (D15); one whose deletion was recorded
before the cutoff is left alone (D2).
"""

from __future__ import annotations

from datetime import UTC, timedelta

from devkit.generate.cases.planter import DONE, LATE, R5, Planter, both


def plant_deleted_cases(p: Planter) -> None:
    """Conflicts of visits that are also in FACTVISITCALLPERFORMANCE_DELETED_CR."""
    ids = p.scenario(
        "deleted_visit_with_conflict",
        "v1 conflicts with v2 and is also in DELETED_CR, updated in the delta: its pairs become 'D'.",
        ["task03 B-1/B-2", "D15"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5), "deleted_visits": [v["v1"]], "status_after_run": "D"},
    )
    p.delete(ids["v1"], updated=p.ctx.anchor.astimezone(UTC) - timedelta(hours=2))
    ids = p.scenario(
        "deleted_visit_outside_delta",
        "v1 conflicts with v2; its DELETED_CR row was updated before the cutoff, so phase B ignores it.",
        ["task03 B-0", "D15", "D2"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5), "deleted_visits": [], "status_after_run": "N"},
    )
    p.delete(ids["v1"], updated=p.ctx.anchor - timedelta(days=3))
