"""The status step (D15, D16, D23): the 15 units of task03 on the real PostgreSQL server and the Snowflake
emulation, one behaviour test per unit, then W/I protection, rerun safety and the two scopes."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.support.schemas import migrated_schema
from tests.support.status_rows import (
    OLD,
    RECENT,
    add_deleted_visits,
    conflict,
    create_deleted_visits_table,
    insert_conflict,
    insert_pair,
    new_id,
    pair,
    row_versions,
    snapshot,
)
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.steps import status
from visit_conflicts.store.db import connect

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 09:00 in New York: the run start
NOW_LOCAL = datetime(2026, 11, 27, 9, 0)
WATERMARK = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # cutoff = now - 36 h = 2026-11-25 21:00 local
DELETED_AT = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # after the cutoff
VISIT_DAY = datetime(2026, 11, 20, tzinfo=NY)
WINDOW_START = date(2024, 11, 27)  # run_date 2026-11-27 minus 2 years
WINDOW_END = date(2027, 1, 11)  # plus 45 days


@pytest.fixture
def res(pg_server_dsn: str, schema: str, source_dir: Path) -> Resources:
    create_deleted_visits_table(source_dir)
    return Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)


def run_status(
    res: Resources,
    *,
    now: datetime = NOW,
    watermark: datetime | None = WATERMARK,
    phase: status.Phase | None = None,
    **params: Any,
) -> StepResult:
    p = Params(**params)
    ctx = RunContext.create(p, now=now, watermark=watermark)
    return status.run(res, ctx, p, phase=phase)


def delete_visits(res: Resources, *visit_ids: str | None, when: datetime = DELETED_AT) -> None:
    assert res.source_dir is not None
    add_deleted_visits(res.source_dir, [(v, VISIT_DAY, when) for v in visit_ids])


# -- Phase B ------------------------------------------------------------------------------------------


def test_fetch_deleted_visit_ids_uses_watermark_cutoff_and_counts_unusable_rows(
    res: Resources, pg: psycopg.Connection
) -> None:
    """D2/D15: Phase B reads deletions since the watermark cutoff (older than now - lookback_hours when
    runs were skipped), inside the inclusive window; D23: ids that are not uuids and rows outside the
    window are skipped and counted per reason, never loaded."""
    watermark = NOW - timedelta(hours=72)
    late = NOW - timedelta(hours=50)  # after the watermark, before now - 36 h: legacy lost it (I.13)
    kept, edge, too_old, outside = new_id(), new_id(), new_id(), new_id()
    assert res.source_dir is not None
    add_deleted_visits(
        res.source_dir,
        [
            (kept, VISIT_DAY, late),
            (kept, VISIT_DAY, DELETED_AT),  # the same visit twice: one id
            (edge, datetime(2024, 11, 27, tzinfo=NY), DELETED_AT),  # first day of the window (I.15)
            (too_old, VISIT_DAY, NOW - timedelta(hours=80)),
            ("not-a-uuid", VISIT_DAY, DELETED_AT),
            (None, VISIT_DAY, DELETED_AT),
            (outside, datetime(2027, 1, 12, tzinfo=NY), DELETED_AT),
        ],
    )
    cf = insert_conflict(pg)
    p_kept = insert_pair(pg, cf, VisitID=kept)
    p_edge = insert_pair(pg, cf, ConVisitID=edge, VisitDate=WINDOW_START)
    p_old = insert_pair(pg, cf, ConVisitID=too_old)
    p_out = insert_pair(pg, cf, ConVisitID=outside)

    result = run_status(
        res, watermark=watermark, status_units=["fetch_deleted_visit_ids", "deleted_visits_cvm"]
    )

    assert result.counts["fetch_deleted_visit_ids"] == 2
    assert result.counts["skipped_invalid_visit_id"] == 2
    assert result.counts["skipped_outside_window"] == 1
    assert result.counts["deleted_visits_cvm"] == 2
    assert pair(pg, p_kept)["StatusFlag"] == "D"
    assert pair(pg, p_edge)["StatusFlag"] == "D"
    assert pair(pg, p_old)["StatusFlag"] == "N"
    assert pair(pg, p_out)["StatusFlag"] == "N"


def test_deleted_visits_cvm_marks_pairs_of_a_deleted_visit_on_either_side(
    res: Resources, pg: psycopg.Connection
) -> None:
    """D15: a pair whose primary or conflicting visit was deleted becomes 'D' (W included), with the
    resolution of the agency whose visit was deleted; pairs outside the window are left alone."""
    gone_con, gone_primary, gone_w, gone_r, gone_out = (new_id() for _ in range(5))
    delete_visits(res, gone_con, gone_primary, gone_w, gone_r, gone_out)
    cf = insert_conflict(pg)
    con_side = insert_pair(pg, cf, ConVisitID=gone_con, ConAgencyContact="Bea at B")
    primary_side = insert_pair(pg, cf, VisitID=gone_primary, AgencyContact="Al at A")
    whitelisted = insert_pair(pg, cf, ConVisitID=gone_w, StatusFlag="W")
    resolved = insert_pair(pg, cf, ConVisitID=gone_r, StatusFlag="R", ResolveDate=OLD, ResolvedBy="x")
    outside = insert_pair(pg, cf, ConVisitID=gone_out, VisitDate=WINDOW_START - timedelta(days=1))
    untouched = insert_pair(pg, cf)

    result = run_status(res, status_units=["deleted_visits_cvm"])

    assert result.counts["deleted_visits_cvm"] == 4
    assert (pair(pg, con_side)["StatusFlag"], pair(pg, con_side)["ResolvedBy"]) == ("D", "Bea at B")
    assert pair(pg, con_side)["ResolveDate"] == NOW_LOCAL
    assert (pair(pg, primary_side)["StatusFlag"], pair(pg, primary_side)["ResolvedBy"]) == ("D", "Al at A")
    assert (pair(pg, whitelisted)["StatusFlag"], pair(pg, whitelisted)["ResolvedBy"]) == ("D", "Agency B")
    assert (pair(pg, resolved)["StatusFlag"], pair(pg, resolved)["ResolveDate"]) == ("D", OLD)
    assert pair(pg, outside)["StatusFlag"] == "N"
    assert pair(pg, untouched)["StatusFlag"] == "N"


def test_deleted_visit_on_either_side_ends_in_d_and_cascades_to_the_parent(
    res: Resources, pg: psycopg.Connection
) -> None:
    """D15 (deleted_visits_cf): a conflict whose primary visit was deleted becomes 'D', resolved by the
    matching pair with the smallest ID; a deleted conflicting visit marks only its pair 'D', and the
    parent, now without an open pair, is resolved by cascade_resolve_cf."""
    primary, con = new_id(), new_id()
    delete_visits(res, primary, con)
    cf_primary = insert_conflict(pg)
    first = insert_pair(pg, cf_primary, VisitID=primary)
    insert_pair(pg, cf_primary, VisitID=primary, AgencyContact="Zed at A")
    cf_con = insert_conflict(pg)
    only = insert_pair(pg, cf_con, ConVisitID=con)

    result = run_status(res)

    assert result.counts["deleted_visits_cf"] == 1
    assert pair(pg, first)["StatusFlag"] == "D"
    parent = conflict(pg, cf_primary)
    assert (parent["StatusFlag"], parent["ResolvedBy"], parent["ResolveDate"]) == ("D", "Agency A", NOW_LOCAL)
    assert pair(pg, only)["StatusFlag"] == "D"
    cascaded = conflict(pg, cf_con)
    assert (cascaded["StatusFlag"], cascaded["ResolveDate"]) == ("R", NOW_LOCAL)


# -- Phase A ------------------------------------------------------------------------------------------


def test_ismissed_cascade_cf_resolves_conflicts_with_a_missed_visit(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy A-3 with D15: a conflict with a missed visit is resolved; ResolvedBy comes from the missed
    pair with the smallest ID (primary agency if its own visit was missed, else the conflicting one);
    a 'W' conflict is not changed."""
    cf_con = insert_conflict(pg)
    insert_pair(pg, cf_con)
    insert_pair(pg, cf_con, ConIsMissed=True, ConProviderName="Agency B1")
    insert_pair(pg, cf_con, ConIsMissed=True, ConProviderName="Agency B2")
    cf_primary = insert_conflict(pg, StatusFlag="U", ResolveDate=OLD)
    insert_pair(pg, cf_primary, IsMissed=True, ConIsMissed=True)
    cf_w = insert_conflict(pg, StatusFlag="W")
    insert_pair(pg, cf_w, IsMissed=True)
    cf_out = insert_conflict(pg)
    insert_pair(pg, cf_out, IsMissed=True, VisitDate=WINDOW_END + timedelta(days=1))

    result = run_status(res, status_units=["ismissed_cascade_cf"])

    assert result.counts == {
        "ismissed_cascade_cf": 2,
        "scope_rows": 6,
        "scope_conflicts": 4,
        "fetch_deleted_visit_ids": 0,
        "skipped_invalid_visit_id": 0,
        "skipped_outside_window": 0,
    }
    assert "scope: delta" in result.notes
    con = conflict(pg, cf_con)
    assert (con["StatusFlag"], con["ResolvedBy"], con["ResolveDate"]) == ("R", "Agency B1", NOW_LOCAL)
    prim = conflict(pg, cf_primary)
    assert (prim["StatusFlag"], prim["ResolvedBy"], prim["ResolveDate"]) == ("R", "Agency A", OLD)
    assert conflict(pg, cf_w)["StatusFlag"] == "W"
    assert conflict(pg, cf_out)["StatusFlag"] == "N"


def test_missed_visit_resolves_its_pair(res: Resources, pg: psycopg.Connection) -> None:
    """Legacy A-4 with D15: a pair with a missed visit becomes 'R', resolved by the agency whose visit was
    missed; 'W', 'I', 'D' and already resolved pairs are not written."""
    cf = insert_conflict(pg)
    primary = insert_pair(pg, cf, IsMissed=True, AgencyContact="Al at A")
    con = insert_pair(pg, cf, ConIsMissed=True, ConAgencyContact="Bea at B")
    ignored = insert_pair(pg, cf, ConIsMissed=True, StatusFlag="I")
    deleted = insert_pair(pg, cf, ConIsMissed=True, StatusFlag="D", ResolveDate=OLD, ResolvedBy="gone")
    resolved = insert_pair(pg, cf, IsMissed=True, StatusFlag="R", ResolveDate=OLD, ResolvedBy="old")
    before = row_versions(pg)

    result = run_status(res, status_units=["ismissed_cascade_cvm"])

    assert result.counts["ismissed_cascade_cvm"] == 2
    assert (pair(pg, primary)["StatusFlag"], pair(pg, primary)["ResolvedBy"]) == ("R", "Al at A")
    assert (pair(pg, con)["StatusFlag"], pair(pg, con)["ResolvedBy"]) == ("R", "Bea at B")
    assert pair(pg, con)["ResolveDate"] == NOW_LOCAL
    after = row_versions(pg)
    for untouched in (ignored, deleted, resolved):
        assert after[f"cvm:{untouched}"] == before[f"cvm:{untouched}"]


def test_updateflag_orphan_cleanup_resolves_legacy_marked_pairs(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy A-5 with D15/D16: pairs still marked UpdateFlag = 1 (migrated data, untouched since long
    before the watermark, found through the marker) are resolved ('D' stays 'D'), the marker cleared;
    a 'W' pair is not touched at all."""
    cf = insert_conflict(pg, CreatedDate=OLD)
    old = {"CreatedDate": OLD, "UpdateFlag": 1}
    plain = insert_pair(pg, cf, **old)
    deleted = insert_pair(pg, cf, StatusFlag="D", ResolvedBy="x", ConAgencyContact="Bea at B", **old)
    missed = insert_pair(pg, cf, StatusFlag="R", IsMissed=True, ResolveDate=OLD, **old)
    whitelisted = insert_pair(pg, cf, StatusFlag="W", **old)
    before = row_versions(pg)

    result = run_status(res, status_units=["updateflag_orphan_cleanup"])

    assert result.counts["updateflag_orphan_cleanup"] == 3
    got = pair(pg, plain)
    assert (got["StatusFlag"], got["UpdateFlag"], got["ResolvedBy"], got["ResolveDate"]) == (
        "R",
        None,
        "Agency B",
        NOW_LOCAL,
    )
    got = pair(pg, deleted)
    assert (got["StatusFlag"], got["UpdateFlag"], got["ResolvedBy"]) == ("D", None, "Bea at B")
    got = pair(pg, missed)
    assert (got["StatusFlag"], got["ResolvedBy"], got["ResolveDate"]) == ("R", "Agency A", OLD)
    assert row_versions(pg)[f"cvm:{whitelisted}"] == before[f"cvm:{whitelisted}"]


def test_aggregation_mark_updatedrflag_marks_conflicts_with_pairs_in_the_window(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy A-6 with D16 rerun safety: conflicts with a pair inside the window get UpdatedRFlag '1';
    a conflict reopened to 'U' by propagation keeps NULL; a conflict without pairs in the window stays."""
    fresh = insert_conflict(pg, UpdatedRFlag=None)
    insert_pair(pg, fresh)
    legacy = insert_conflict(pg, UpdatedRFlag="0", CreatedDate=OLD)
    insert_pair(pg, legacy, CreatedDate=OLD)
    propagated = insert_conflict(pg, StatusFlag="U", UpdatedRFlag=None)
    insert_pair(pg, propagated, StatusFlag="U")
    outside = insert_conflict(pg, UpdatedRFlag=None)
    insert_pair(pg, outside, VisitDate=WINDOW_START - timedelta(days=1))

    result = run_status(res, status_units=["aggregation_mark_updatedrflag"])

    assert result.counts["aggregation_mark_updatedrflag"] == 2
    assert conflict(pg, fresh)["UpdatedRFlag"] == "1"
    assert conflict(pg, legacy)["UpdatedRFlag"] == "1"
    assert conflict(pg, propagated)["UpdatedRFlag"] is None
    assert conflict(pg, outside)["UpdatedRFlag"] is None


def test_aggregation_status_u_propagation_reopens_parents_of_updated_pairs(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy A-7 with D15: a conflict with an updated ('U') pair in the window becomes 'U' with
    UpdatedRFlag cleared, 'N' and 'R' alike; 'W', 'D' and conflicts whose 'U' pair is outside the window
    are not changed."""
    cf_n = insert_conflict(pg)
    insert_pair(pg, cf_n, StatusFlag="U")
    cf_r = insert_conflict(pg, StatusFlag="R", ResolveDate=OLD)
    insert_pair(pg, cf_r, StatusFlag="U")
    cf_w = insert_conflict(pg, StatusFlag="W")
    insert_pair(pg, cf_w, StatusFlag="U")
    cf_d = insert_conflict(pg, StatusFlag="D")
    insert_pair(pg, cf_d, StatusFlag="U")
    cf_out = insert_conflict(pg)
    insert_pair(pg, cf_out, StatusFlag="U", VisitDate=WINDOW_END + timedelta(days=1))

    result = run_status(res, status_units=["aggregation_status_u_propagation"])

    assert result.counts["aggregation_status_u_propagation"] == 2
    for cf in (cf_n, cf_r):
        assert (conflict(pg, cf)["StatusFlag"], conflict(pg, cf)["UpdatedRFlag"]) == ("U", None)
    assert [conflict(pg, cf)["StatusFlag"] for cf in (cf_w, cf_d, cf_out)] == ["W", "D", "N"]


def test_cascade_resolve_cvm_resolves_the_last_open_pair_of_a_resolved_conflict(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy A-8 with D15: when the parent is 'R' or 'D' and at most one pair is still open, that pair is
    resolved; with two open pairs nothing moves; a 'W' pair is never resolved by the cascade."""
    parent_r = insert_conflict(pg, StatusFlag="R", ResolveDate=OLD)
    insert_pair(pg, parent_r, StatusFlag="R", ResolveDate=OLD)
    last_open = insert_pair(pg, parent_r, ConAgencyContact="Bea at B")
    parent_d = insert_conflict(pg, StatusFlag="D", ResolveDate=OLD)
    two_open = [insert_pair(pg, parent_d, StatusFlag="U"), insert_pair(pg, parent_d)]
    parent_w = insert_conflict(pg, StatusFlag="R", ResolveDate=OLD)
    insert_pair(pg, parent_w, StatusFlag="D")
    whitelisted = insert_pair(pg, parent_w, StatusFlag="W")
    open_parent = insert_conflict(pg)
    alone = insert_pair(pg, open_parent)

    result = run_status(res, status_units=["cascade_resolve_cvm"])

    assert result.counts["cascade_resolve_cvm"] == 1
    got = pair(pg, last_open)
    assert (got["StatusFlag"], got["ResolvedBy"], got["ResolveDate"]) == ("R", "Bea at B", NOW_LOCAL)
    assert [pair(pg, p)["StatusFlag"] for p in two_open] == ["U", "N"]
    assert pair(pg, whitelisted)["StatusFlag"] == "W"
    assert pair(pg, alone)["StatusFlag"] == "N"


def test_cascade_resolve_cf_resolves_parents_whose_pairs_are_all_resolved(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy A-9 with D15: a conflict whose pairs in the window are all 'R' or 'D' is resolved, ResolvedBy
    from its pair with the smallest ID (deterministic); an open pair or a 'W' parent stops it."""
    done = insert_conflict(pg, StatusFlag="U")
    insert_pair(pg, done, StatusFlag="R", ConIsMissed=True, ConProviderName="Agency B1")
    insert_pair(pg, done, StatusFlag="D", IsMissed=True)
    plain = insert_conflict(pg, ResolvedBy="kept")
    insert_pair(pg, plain, StatusFlag="R")
    still_open = insert_conflict(pg)
    insert_pair(pg, still_open, StatusFlag="R")
    insert_pair(pg, still_open)
    whitelisted = insert_conflict(pg, StatusFlag="W")
    insert_pair(pg, whitelisted, StatusFlag="R")
    no_window = insert_conflict(pg)
    insert_pair(pg, no_window, StatusFlag="R", VisitDate=WINDOW_START - timedelta(days=3))

    result = run_status(res, status_units=["cascade_resolve_cf"])

    assert result.counts["cascade_resolve_cf"] == 2
    got = conflict(pg, done)
    assert (got["StatusFlag"], got["ResolvedBy"], got["ResolveDate"]) == ("R", "Agency B1", NOW_LOCAL)
    assert (conflict(pg, plain)["StatusFlag"], conflict(pg, plain)["ResolvedBy"]) == ("R", "kept")
    assert [conflict(pg, cf)["StatusFlag"] for cf in (still_open, whitelisted, no_window)] == ["N", "W", "N"]


def test_noresponse_flag_cf_reopens_conflicts_without_response(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy A-10, target kept by D15: a 'U', 'W' or 'I' conflict with NoResponseFlag 'Yes' and a pair in
    the window becomes 'N' with its resolution cleared; 'R', 'N' and flags other than 'Yes' stay."""
    reopened = []
    for flag in ("U", "W", "I"):
        cf = insert_conflict(pg, StatusFlag=flag, NoResponseFlag="Yes", ResolveDate=OLD, ResolvedBy="x")
        insert_pair(pg, cf, StatusFlag="R")
        reopened.append(cf)
    resolved = insert_conflict(pg, StatusFlag="R", NoResponseFlag="Yes", ResolveDate=OLD)
    insert_pair(pg, resolved, StatusFlag="R")
    answered = insert_conflict(pg, StatusFlag="U", NoResponseFlag="No")
    insert_pair(pg, answered, StatusFlag="U")
    outside = insert_conflict(pg, StatusFlag="U", NoResponseFlag="Yes")
    insert_pair(pg, outside, VisitDate=WINDOW_END + timedelta(days=2))

    result = run_status(res, status_units=["noresponse_flag_cf"])

    assert result.counts["noresponse_flag_cf"] == 3
    for cf in reopened:
        got = conflict(pg, cf)
        assert (got["StatusFlag"], got["ResolveDate"], got["ResolvedBy"]) == ("N", None, None)
    assert [conflict(pg, cf)["StatusFlag"] for cf in (resolved, answered, outside)] == ["R", "U", "U"]


def test_noresponse_flag_cvm_reopens_pairs_without_response(res: Resources, pg: psycopg.Connection) -> None:
    """Legacy A-11, target kept by D15: a pair with ConNoResponseFlag 'Yes' that is not 'R'/'D' becomes
    'N' with its resolution cleared; pairs already in that state are not written."""
    cf = insert_conflict(pg)
    moved = [
        insert_pair(pg, cf, StatusFlag=flag, ConNoResponseFlag="Yes", ResolveDate=OLD, ResolvedBy="x")
        for flag in ("U", "W", "I")
    ]
    dirty_n = insert_pair(pg, cf, ConNoResponseFlag="Yes", ResolvedBy="x")
    clean_n = insert_pair(pg, cf, ConNoResponseFlag="Yes")
    resolved = insert_pair(pg, cf, StatusFlag="R", ConNoResponseFlag="Yes", ResolveDate=OLD)
    before = row_versions(pg)

    result = run_status(res, status_units=["noresponse_flag_cvm"])

    assert result.counts["noresponse_flag_cvm"] == 4
    for p in (*moved, dirty_n):
        got = pair(pg, p)
        assert (got["StatusFlag"], got["ResolveDate"], got["ResolvedBy"]) == ("N", None, None)
    assert pair(pg, resolved)["StatusFlag"] == "R"
    after = row_versions(pg)
    assert after[f"cvm:{clean_n}"] == before[f"cvm:{clean_n}"]
    assert after[f"cvm:{resolved}"] == before[f"cvm:{resolved}"]


# -- Phase C ------------------------------------------------------------------------------------------


def test_computed_time_columns_take_visit_then_schedule_then_inservice_times(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy C-12: ShVT times = actual visit time, else scheduled, else InService time, per side; rows
    already right are not written again."""
    t = datetime(2026, 11, 20, 8, 0)
    h = timedelta(hours=1)
    cf = insert_conflict(pg)
    visited = insert_pair(
        pg, cf, VisitStartTime=t, VisitEndTime=t + 5 * h, ConVisitStartTime=t + h, ConVisitEndTime=t + 6 * h
    )
    scheduled = insert_pair(pg, cf)
    inservice = insert_pair(
        pg,
        cf,
        SchStartTime=None,
        SchEndTime=None,
        ConSchStartTime=None,
        ConSchEndTime=None,
        ConInserviceStartDate=t + 2 * h,
        ConInserviceEndDate=t + 3 * h,
    )

    first = run_status(res, status_units=["computed_time_columns"])
    second = run_status(res, status_units=["computed_time_columns"])

    assert (first.counts["computed_time_columns"], second.counts["computed_time_columns"]) == (3, 0)
    cols = ("ShVTSTTime", "ShVTENTime", "CShVTSTTime", "CShVTENTime")
    assert tuple(pair(pg, visited)[c] for c in cols) == (t, t + 5 * h, t + h, t + 6 * h)
    assert tuple(pair(pg, scheduled)[c] for c in cols) == (
        datetime(2026, 11, 20, 9, 0),
        datetime(2026, 11, 20, 13, 0),
        datetime(2026, 11, 20, 10, 0),
        datetime(2026, 11, 20, 14, 0),
    )
    assert tuple(pair(pg, inservice)[c] for c in cols) == (None, None, t + 2 * h, t + 3 * h)


BILLED_RATE_CASES: list[tuple[str, dict[str, Any], float]] = [
    ("billed hourly", {"Billed": "yes", "RateType": "Hourly", "BillRateBoth": 30.0}, 0.5),
    ("billed daily", {"Billed": "yes", "RateType": "Daily", "BillRateBoth": 240.0, "BilledHours": 8.0}, 0.5),
    (
        "billed visit without hours",
        {"Billed": "yes", "RateType": "Visit", "BillRateBoth": 90.0, "BilledHours": 0.0},
        0.0,
    ),
    ("unbilled hourly", {"Billed": "no", "RateType": "Hourly", "BillRateBoth": 27.0}, 0.45),
    # Exact schedule hours (7 h 30 min 20 s), not whole minutes: 200 / 7.50556 / 60, not 200 / 7.5 / 60.
    (
        "unbilled daily",
        {
            "Billed": "no",
            "RateType": "Daily",
            "BillRateBoth": 200.0,
            "SchStartTime": datetime(2026, 11, 20, 9, 0),
            "SchEndTime": datetime(2026, 11, 20, 16, 30, 20),
        },
        200.0 / (27020 / 3600) / 60,
    ),
    (
        "unbilled visit, empty schedule",
        {
            "Billed": "no",
            "RateType": "Visit",
            "BillRateBoth": 90.0,
            "SchStartTime": datetime(2026, 11, 20, 9, 0),
            "SchEndTime": datetime(2026, 11, 20, 9, 0),
        },
        0.0,
    ),
    ("billed unknown", {"Billed": None, "RateType": "Hourly", "BillRateBoth": 30.0}, 0.0),
    ("other rate type", {"Billed": "yes", "RateType": "Weekly", "BillRateBoth": 30.0}, 0.0),
    ("no rate", {"Billed": "yes", "RateType": "Hourly", "BillRateBoth": 0.0}, 0.0),
]


def test_computed_billed_rate_follows_the_rate_table(res: Resources, pg: psycopg.Connection) -> None:
    """Unit computed_billed_rate with D15: BilledRateMinute per branch of the rate table, on both
    sides, with exact schedule hours; a stored value within 0.0001 is not rewritten, a farther or NULL
    one is."""
    cf = insert_conflict(pg)
    ids = {}
    for name, values, _ in BILLED_RATE_CASES:
        con = {"Con" + k: v for k, v in values.items()}
        ids[name] = insert_pair(pg, cf, **values, **con)
    close = insert_pair(
        pg,
        cf,
        Billed="yes",
        RateType="Hourly",
        BillRateBoth=30.0,
        BilledRateMinute=0.50005,
        ConBilledRateMinute=0.0,
    )
    far = insert_pair(
        pg,
        cf,
        Billed="yes",
        RateType="Hourly",
        BillRateBoth=30.0,
        BilledRateMinute=0.501,
        ConBilledRateMinute=0.0,
    )
    before = row_versions(pg)

    result = run_status(res, status_units=["computed_billed_rate"])

    assert result.counts["computed_billed_rate"] == len(BILLED_RATE_CASES) + 1
    for name, _, expected in BILLED_RATE_CASES:
        got = pair(pg, ids[name])
        assert got["BilledRateMinute"] == pytest.approx(expected, abs=1e-6), name
        assert got["ConBilledRateMinute"] == pytest.approx(expected, abs=1e-6), name
    assert row_versions(pg)[f"cvm:{close}"] == before[f"cvm:{close}"]
    assert pair(pg, far)["BilledRateMinute"] == pytest.approx(0.5, abs=1e-6)
    assert run_status(res, status_units=["computed_billed_rate"]).counts["computed_billed_rate"] == 0


def test_computed_reverse_uuid_gives_both_orientations_one_key(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy C-14 with I.17 and D23: (A, B) and (B, A) get LEAST(a, b) || '_' || GREATEST(a, b) of
    'visit~appid' in byte order; existing keys are never recomputed; a key too long for the column is
    skipped and counted instead of failing the unit."""
    a, b = "0f000000-0000-4000-8000-000000000001", "0a000000-0000-4000-8000-000000000002"
    cf = insert_conflict(pg)
    ab = insert_pair(pg, cf, VisitID=a, AppVisitID=11, ConVisitID=b, ConAppVisitID=22)
    ba = insert_pair(pg, cf, VisitID=b, AppVisitID=22, ConVisitID=a, ConAppVisitID=11)
    kept = insert_pair(pg, cf, ReverseUUID="legacy-key")
    unknown = insert_pair(pg, cf, ConAppVisitID=None)
    huge = insert_pair(pg, cf, AppVisitID=9_000_000_000_000_000_001, ConAppVisitID=9_000_000_000_000_000_002)

    result = run_status(res, status_units=["computed_reverse_uuid"])

    assert result.counts["computed_reverse_uuid"] == 2
    assert result.counts["skipped_reverse_uuid_too_long"] == 1
    expected = f"{b}~22_{a}~11"
    assert pair(pg, ab)["ReverseUUID"] == pair(pg, ba)["ReverseUUID"] == expected
    assert pair(pg, kept)["ReverseUUID"] == "legacy-key"
    assert pair(pg, unknown)["ReverseUUID"] is None
    assert pair(pg, huge)["ReverseUUID"] is None


# -- D15: W and I ---------------------------------------------------------------------------------------


def test_whitelisted_and_ignored_rows_are_never_changed_by_the_cascades(
    res: Resources, pg: psycopg.Connection
) -> None:
    """D15: 'W' and 'I' pairs and conflicts keep status, ResolveDate and ResolvedBy through every
    resolving cascade (units 3-9: missed visit, UpdateFlag, U propagation, last open pair, all pairs
    resolved); Phase B still marks a 'W' pair of a deleted visit 'D'."""
    watched: list[tuple[str, int]] = []
    for flag in ("W", "I"):
        cf_missed = insert_conflict(pg, StatusFlag=flag)
        watched += [("cf", cf_missed), ("cvm", insert_pair(pg, cf_missed, StatusFlag=flag, IsMissed=True))]
        cf_marked = insert_conflict(pg)
        watched.append(("cvm", insert_pair(pg, cf_marked, StatusFlag=flag, UpdateFlag=1)))
        cf_u = insert_conflict(pg, StatusFlag=flag)
        insert_pair(pg, cf_u, StatusFlag="U")
        watched.append(("cf", cf_u))
        cf_r = insert_conflict(pg, StatusFlag="R", ResolveDate=OLD)
        insert_pair(pg, cf_r, StatusFlag="R")
        watched.append(("cvm", insert_pair(pg, cf_r, StatusFlag=flag)))
        cf_all = insert_conflict(pg, StatusFlag=flag)
        insert_pair(pg, cf_all, StatusFlag="R")
        insert_pair(pg, cf_all, StatusFlag="D")
        watched.append(("cf", cf_all))
    gone = new_id()
    delete_visits(res, gone)
    cf_gone = insert_conflict(pg)
    w_gone = insert_pair(pg, cf_gone, StatusFlag="W", ConVisitID=gone)

    def state(kind: str, key: int) -> tuple[Any, ...]:
        row = conflict(pg, key) if kind == "cf" else pair(pg, key)
        return row["StatusFlag"], row["ResolveDate"], row["ResolvedBy"]

    before = {w: state(*w) for w in watched}
    result = run_status(res)

    assert result.counts["ismissed_cascade_cf"] == 0
    assert {w: state(*w) for w in watched} == before
    assert pair(pg, w_gone)["StatusFlag"] == "D"


def test_noresponse_reopened_whitelist_is_cascaded_in_the_same_pass(
    res: Resources, pg: psycopg.Connection
) -> None:
    """D15: the no-response resets keep their legacy targets ('W' with NoResponseFlag 'Yes' is reopened);
    such a conflict is not protected from the cascades, so one run reaches the state a second run would:
    a missed visit resolves it, an updated pair propagates 'U' before the reset to 'N', and the second run
    leaves every value as it was."""
    missed = insert_conflict(pg, StatusFlag="W", NoResponseFlag="Yes")
    insert_pair(pg, missed, ConIsMissed=True)
    insert_pair(pg, missed)
    updated = insert_conflict(pg, StatusFlag="W", NoResponseFlag="Yes")
    insert_pair(pg, updated, StatusFlag="U")
    reopened = insert_conflict(pg, StatusFlag="W", NoResponseFlag="Yes", ResolveDate=OLD, ResolvedBy="x")
    insert_pair(pg, reopened)

    first = run_status(res)
    state = snapshot(pg)
    again = run_status(res)

    got = conflict(pg, missed)
    assert (first.counts["ismissed_cascade_cf"], got["StatusFlag"], got["ResolvedBy"]) == (1, "R", "Agency B")
    got = conflict(pg, updated)
    assert (got["StatusFlag"], got["UpdatedRFlag"], got["ResolveDate"]) == ("N", None, None)
    got = conflict(pg, reopened)
    assert (got["StatusFlag"], got["ResolveDate"], got["ResolvedBy"]) == ("N", None, None)
    assert again.counts["ismissed_cascade_cf"] == 0
    assert snapshot(pg) == state


# -- rerun safety and scope ----------------------------------------------------------------------------


def _every_unit_situation(pg: psycopg.Connection, res: Resources) -> None:
    """One conflict for each situation a unit acts on, plus W/I, no-response and computed columns."""
    gone_primary, gone_con = new_id(), new_id()
    delete_visits(res, gone_primary, gone_con)
    cf = insert_conflict(pg)
    insert_pair(pg, cf, VisitID=gone_primary, Billed="yes", RateType="Hourly", BillRateBoth=30.0)
    cf = insert_conflict(pg)
    insert_pair(pg, cf, ConVisitID=gone_con)
    insert_pair(pg, cf)
    cf = insert_conflict(pg)
    insert_pair(pg, cf, IsMissed=True)
    insert_pair(pg, cf, StatusFlag="W")
    cf = insert_conflict(pg, UpdatedRFlag=None)
    insert_pair(pg, cf, UpdateFlag=1, CreatedDate=OLD)
    insert_pair(
        pg,
        cf,
        StatusFlag="U",
        VisitStartTime=datetime(2026, 11, 20, 9, 5),
        VisitEndTime=datetime(2026, 11, 20, 12, 0),
    )
    cf = insert_conflict(pg, StatusFlag="R", ResolveDate=RECENT)
    insert_pair(pg, cf)
    insert_pair(pg, cf, StatusFlag="R", ResolveDate=OLD)
    cf = insert_conflict(pg, StatusFlag="I", NoResponseFlag="Yes", NoResponseDate=RECENT)
    insert_pair(pg, cf, StatusFlag="W", ConNoResponseFlag="Yes", ConNoResponseDate=RECENT)
    cf = insert_conflict(pg, StatusFlag="W", CreatedDate=OLD)
    insert_pair(pg, cf, StatusFlag="I", CreatedDate=OLD, ConIsMissed=True)


def test_each_phase_runs_only_its_own_units(res: Resources, pg: psycopg.Connection) -> None:
    """The status steps status_b, status_a, status_c: each phase on its own, rerunnable alone."""
    _every_unit_situation(pg, res)
    by_phase = {phase: run_status(res, phase=phase) for phase in status.PHASES}
    for phase, result in by_phase.items():
        ran = {n for n in status.UNIT_NAMES if n in result.counts}
        assert ran == {u.name for u in status.UNITS if u.phase == phase}, phase
    assert by_phase["B"].counts["deleted_visits_cvm"] > 0
    assert "scope_rows" not in by_phase["B"].counts and "scope_rows" in by_phase["A"].counts
    state = snapshot(pg)
    again = run_status(res, phase="A")  # rerun of one phase alone: converged, nothing to do
    assert all(again.counts[u.name] == 0 for u in status.UNITS if u.phase == "A")
    assert snapshot(pg) == state


def test_second_run_changes_nothing(res: Resources, pg: psycopg.Connection) -> None:
    """D15/D16 rerun safety: after one run, a second run with the same context reports no rows affected in
    any unit and leaves every row version of both tables as it was."""
    _every_unit_situation(pg, res)

    first = run_status(res)
    versions, state = row_versions(pg), snapshot(pg)
    second = run_status(res)

    units = [n for n in status.UNIT_NAMES if n != "fetch_deleted_visit_ids"]
    assert sum(first.counts[n] for n in units) > 10
    assert {n: second.counts[n] for n in units} == dict.fromkeys(units, 0)
    assert row_versions(pg) == versions
    assert snapshot(pg) == state


def test_delta_scope_touches_only_rows_that_can_change(res: Resources, pg: psycopg.Connection) -> None:
    """D16: the delta scope holds the rows written since the watermark and the other rows of their
    conflicts, rows of deleted visits and conflicts users changed since then; the computed columns are
    recomputed only for rows the pipeline wrote since then (no other change touches their inputs). Rows
    outside the scope are not written even where the window pass still changes them (legacy rows whose
    columns were never computed)."""
    untouched_cf = insert_conflict(pg, CreatedDate=OLD, UpdatedRFlag="1")
    untouched = insert_pair(pg, untouched_cf, CreatedDate=OLD)  # ShVT, rate, key never computed
    written_cf = insert_conflict(pg, CreatedDate=OLD)
    sibling = insert_pair(pg, written_cf, CreatedDate=OLD)
    written = insert_pair(pg, written_cf, CreatedDate=OLD, UpdatedDate=RECENT, StatusFlag="U")
    user_cf = insert_conflict(pg, CreatedDate=OLD, StatusFlag="R", ResolveDate=RECENT)
    user_pair = insert_pair(pg, user_cf, CreatedDate=OLD)
    gone = new_id()
    delete_visits(res, gone)
    deleted_cf = insert_conflict(pg, CreatedDate=OLD)
    deleted = insert_pair(pg, deleted_cf, CreatedDate=OLD, ConVisitID=gone)
    before = row_versions(pg)

    delta = run_status(res)

    assert (delta.counts["scope_rows"], delta.counts["scope_conflicts"]) == (4, 3)
    assert row_versions(pg)[f"cvm:{untouched}"] == before[f"cvm:{untouched}"]
    assert row_versions(pg)[f"cvm:{sibling}"] == before[f"cvm:{sibling}"]
    assert (pair(pg, written)["ShVTSTTime"], pair(pg, written)["ReverseUUID"]) != (None, None)
    for p in (untouched, sibling, user_pair, deleted):
        assert (pair(pg, p)["ShVTSTTime"], pair(pg, p)["ReverseUUID"]) == (None, None)
    assert pair(pg, user_pair)["StatusFlag"] == "R"  # the user's resolution cascaded to the open pair
    assert pair(pg, deleted)["StatusFlag"] == "D"
    assert conflict(pg, written_cf)["StatusFlag"] == "U"
    assert conflict(pg, deleted_cf)["StatusFlag"] == "R"

    window = run_status(res, status_scope="window")
    assert window.counts["computed_time_columns"] == 4
    assert pair(pg, untouched)["ShVTSTTime"] is not None


def test_a_bulk_delta_runs_as_the_window_pass(res: Resources, pg: psycopg.Connection) -> None:
    """D16: when the seed pairs of a phase's delta scope exceed the limit (`status_delta_max_share` of
    the pair table, at least `status_delta_min_rows`), as after a first load, the phase runs the window
    pass instead: rows outside the delta are reached too, and the result says so. Under the limit the
    same data keeps the delta scope."""
    untouched_cf = insert_conflict(pg, CreatedDate=OLD, UpdatedRFlag="1")
    untouched = insert_pair(pg, untouched_cf, CreatedDate=OLD)  # outside the delta
    written_cf = insert_conflict(pg, CreatedDate=OLD)
    written = insert_pair(pg, written_cf, CreatedDate=OLD, UpdatedDate=RECENT, StatusFlag="U")
    insert_pair(pg, written_cf, CreatedDate=OLD, UpdatedDate=RECENT)

    kept = run_status(res, phase="C", status_delta_min_rows=2, status_delta_max_share=0.01)
    assert (kept.counts["scope_rows"], "scope_window_fallback" in kept.counts) == (2, False)
    assert pair(pg, untouched)["ShVTSTTime"] is None
    assert pair(pg, written)["ShVTSTTime"] is not None

    for phase in ("A", "C"):
        bulk = run_status(res, phase=phase, status_delta_min_rows=1, status_delta_max_share=0.01)
        assert bulk.counts["scope_window_fallback"] == 1 and "scope_rows" not in bulk.counts
        assert any("window pass" in note for note in bulk.notes)
    assert pair(pg, untouched)["ShVTSTTime"] is not None  # the window pass computed it
    assert conflict(pg, written_cf)["StatusFlag"] == "U"

    # A share of 1 never falls back, whatever the table's size.
    assert status.seed_limit(Params(status_delta_max_share=1.0, status_delta_min_rows=0), 0) is None
    assert status.seed_limit(Params(status_delta_max_share=0.2, status_delta_min_rows=10), 1000) == 200
    assert status.seed_limit(Params(status_delta_max_share=0.2, status_delta_min_rows=10), 0) == 10


def _redetected_pair(pg: psycopg.Connection, when: datetime) -> tuple[str, int, str]:
    cf = insert_conflict(pg, CreatedDate=OLD)
    insert_pair(pg, cf, CreatedDate=OLD, StatusFlag="U", UpdatedDate=when)
    return "cf", cf, "U"  # aggregation_status_u_propagation


def _inserted_missed_pair(pg: psycopg.Connection, when: datetime) -> tuple[str, int, str]:
    cf = insert_conflict(pg, CreatedDate=OLD)
    insert_pair(pg, cf, CreatedDate=OLD)
    insert_pair(pg, cf, CreatedDate=when, ConIsMissed=True)
    return "cf", cf, "R"  # ismissed_cascade_cf


def _user_resolved_pair(pg: psycopg.Connection, when: datetime) -> tuple[str, int, str]:
    cf = insert_conflict(pg, CreatedDate=OLD)
    insert_pair(pg, cf, CreatedDate=OLD, StatusFlag="R", ResolveDate=when, ResolvedBy="user")
    return "cf", cf, "R"  # cascade_resolve_cf


def _user_resolved_conflict(pg: psycopg.Connection, when: datetime) -> tuple[str, int, str]:
    cf = insert_conflict(pg, CreatedDate=OLD, StatusFlag="R", ResolveDate=when, ResolvedBy="user")
    return "cvm", insert_pair(pg, cf, CreatedDate=OLD), "R"  # cascade_resolve_cvm


def _con_agency_no_response(pg: psycopg.Connection, when: datetime) -> tuple[str, int, str]:
    cf = insert_conflict(pg, CreatedDate=OLD)
    pair_id = insert_pair(
        pg, cf, CreatedDate=OLD, StatusFlag="W", ConNoResponseFlag="Yes", ConNoResponseDate=when
    )
    return "cvm", pair_id, "N"  # noresponse_flag_cvm


def _agency_no_response(pg: psycopg.Connection, when: datetime) -> tuple[str, int, str]:
    cf = insert_conflict(pg, CreatedDate=OLD, StatusFlag="I", NoResponseFlag="Yes", NoResponseDate=when)
    insert_pair(pg, cf, CreatedDate=OLD)
    return "cf", cf, "N"  # noresponse_flag_cf


@pytest.mark.parametrize(
    "situation",
    [
        _redetected_pair,
        _inserted_missed_pair,
        _user_resolved_pair,
        _user_resolved_conflict,
        _con_agency_no_response,
        _agency_no_response,
    ],
)
def test_delta_scope_finds_each_change_through_its_timestamp(
    res: Resources, pg: psycopg.Connection, situation: Any
) -> None:
    """D16: each kind of change since the watermark (pipeline "UpdatedDate" / "CreatedDate", user
    "ResolveDate" on pairs and conflicts, "ConNoResponseDate", "NoResponseDate") brings its conflict into
    the delta scope; the same state stamped before the cutoff is outside it and left to the window pass."""
    stamped_kind, stamped, expected = situation(pg, RECENT)
    old_kind, old, _ = situation(pg, OLD)

    run_status(res)

    def status_of(kind: str, key: int) -> str:
        return str((conflict(pg, key) if kind == "cf" else pair(pg, key))["StatusFlag"])

    assert status_of(stamped_kind, stamped) == expected
    unchanged = status_of(old_kind, old)
    assert unchanged != expected
    run_status(res, status_scope="window")
    assert status_of(old_kind, old) == expected


def test_review_flags_since_the_watermark_are_in_the_delta_scope(
    res: Resources, pg: psycopg.Connection
) -> None:
    """D16: "FlagForReviewDate" on pairs and on conflicts is a scope source too (no unit reads the flag,
    so the scope size shows it)."""
    cf_pair = insert_conflict(pg, CreatedDate=OLD)
    insert_pair(pg, cf_pair, CreatedDate=OLD, FlagForReview="Y", FlagForReviewDate=RECENT)
    insert_pair(pg, cf_pair, CreatedDate=OLD)
    cf_flag = insert_conflict(pg, CreatedDate=OLD, FlagForReview="Y", FlagForReviewDate=RECENT)
    insert_pair(pg, cf_flag, CreatedDate=OLD)
    cf_old = insert_conflict(pg, CreatedDate=OLD, FlagForReview="Y", FlagForReviewDate=OLD)
    insert_pair(pg, cf_old, CreatedDate=OLD, FlagForReview="Y", FlagForReviewDate=OLD)

    result = run_status(res)

    assert (result.counts["scope_conflicts"], result.counts["scope_rows"]) == (2, 3)


def test_rerun_after_a_failed_attempt_still_cascades_its_deletions(
    res: Resources, pg: psycopg.Connection
) -> None:
    """D15/D16 rerun safety: when an earlier attempt marked a pair 'D' (keeping an older ResolveDate, so no
    timestamp moved) and failed before Phase A, the rerun still finds the pair through the deleted visit
    and resolves its parent."""
    gone = new_id()
    delete_visits(res, gone)
    cf = insert_conflict(pg, CreatedDate=OLD)
    insert_pair(
        pg, cf, CreatedDate=OLD, ConVisitID=gone, StatusFlag="D", ResolveDate=OLD, ResolvedBy="Agency B"
    )

    result = run_status(res)

    assert result.counts["deleted_visits_cvm"] == 0
    assert conflict(pg, cf)["StatusFlag"] == "R"


def test_unknown_unit_in_status_units_is_refused_before_any_database_is_touched() -> None:
    """D3 for status_units (legacy silently ignored unknown names): the error names the unit and lists the
    known ones; the bogus DSN proves no connection was attempted."""
    res = Resources(pg_dsn="postgresql://nobody@127.0.0.1:1/none", schema="nothing")
    with pytest.raises(
        status.UnknownStatusUnit, match=r"cascade_resolve_cvms.*known units.*cascade_resolve_cvm"
    ):
        run_status(res, status_units=["cascade_resolve_cvms"])


def test_status_units_runs_the_named_units_in_their_order_and_phase_b_can_be_disabled(
    res: Resources, pg: psycopg.Connection
) -> None:
    """Legacy D.1 status_units and enable_phase_b: the filter keeps the fixed order; with Phase B disabled
    the deleted visit stays, and the skipped units are listed in the notes."""
    gone = new_id()
    delete_visits(res, gone)
    cf = insert_conflict(pg)
    p = insert_pair(pg, cf, ConVisitID=gone, IsMissed=True)

    result = run_status(
        res, enable_phase_b=False, status_units=["computed_time_columns", "ismissed_cascade_cvm"]
    )

    units = [k for k in result.counts if k in status.UNIT_NAMES]
    assert units == ["ismissed_cascade_cvm", "computed_time_columns"]
    assert pair(pg, p)["StatusFlag"] == "R"
    assert any("deleted_visits_cvm" in note for note in result.notes)
    assert any("enable_phase_b" in note for note in result.notes)


# -- D16: delta and window agree ------------------------------------------------------------------------


@pytest.fixture
def twin(pg_server_dsn: str) -> Iterator[str]:
    """A second migrated schema on the same server."""
    with migrated_schema(pg_server_dsn) as name:
        yield name


class Scenario:
    """Random pipeline and user changes, applied identically to one schema (same seed, same state)."""

    def __init__(self, pg: psycopg.Connection, seed: int) -> None:
        self.pg = pg
        self.rng = random.Random(seed)

    def pick(self, query: str, k: int) -> list[int]:
        ids = [r[0] for r in self.pg.execute(query.encode()).fetchall()]
        return self.rng.sample(ids, min(k, len(ids)))

    def new_conflicts(self, n: int, at: datetime) -> list[str]:
        """The detect step's inserts: new conflicts of 1-3 pairs, some missed, some with rates."""
        visit_ids = []
        for _ in range(n):
            cf = insert_conflict(self.pg, CreatedDate=at, UpdatedRFlag=None)
            primary = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            visit_ids.append(primary)
            for _ in range(self.rng.randint(1, 3)):
                con = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                visit_ids.append(con)
                insert_pair(
                    self.pg,
                    cf,
                    VisitID=primary,
                    ConVisitID=con,
                    CreatedDate=at,
                    AppVisitID=self.rng.randint(1, 10**9),
                    ConAppVisitID=self.rng.randint(1, 10**9),
                    IsMissed=self.rng.random() < 0.05,
                    ConIsMissed=self.rng.random() < 0.1,
                    UpdateFlag=1 if self.rng.random() < 0.03 else None,
                    Billed=self.rng.choice(["yes", "no", None]),
                    RateType=self.rng.choice(["Hourly", "Daily", "Visit"]),
                    BillRateBoth=float(self.rng.randint(0, 40)),
                    BilledHours=float(self.rng.randint(0, 8)),
                )
        return visit_ids

    def round(self, at: datetime) -> list[str]:
        """One day of changes between two runs; returns visit ids deleted in the source."""
        pg, rng = self.pg, self.rng
        ids = 'SELECT "ID" FROM conflictvisitmaps ORDER BY "ID"'
        cfs = 'SELECT "CONFLICTID" FROM conflicts ORDER BY "CONFLICTID"'
        # Pipeline: re-detected changed pairs (reopened when resolved), stale cleanup, new conflicts.
        for i in self.pick(ids, 6):
            pg.execute(
                """UPDATE conflictvisitmaps SET "UpdatedDate" = %s, "ConIsMissed" = %s,
                   "StatusFlag" = CASE WHEN "StatusFlag" IN ('W', 'I', 'D') THEN "StatusFlag" ELSE 'U' END,
                   "ResolveDate" = CASE WHEN "StatusFlag" = 'R' THEN NULL ELSE "ResolveDate" END,
                   "ResolvedBy" = CASE WHEN "StatusFlag" = 'R' THEN NULL ELSE "ResolvedBy" END
                   WHERE "ID" = %s""",
                (at, rng.random() < 0.2, i),
            )
        for i in self.pick(ids, 3):
            pg.execute(
                """UPDATE conflictvisitmaps
                   SET "StatusFlag" = 'R', "ResolveDate" = COALESCE("ResolveDate", %s), "UpdatedDate" = %s
                   WHERE "ID" = %s AND "StatusFlag" IN ('N', 'U')""",
                (at, at, i),
            )
        self.new_conflicts(3, at)
        # Users: resolve, whitelist or ignore (stamped), no-response on either side, review flags.
        for i in self.pick(cfs, 3):
            pg.execute(
                """UPDATE conflicts SET "StatusFlag" = %s, "ResolveDate" = %s, "ResolvedBy" = 'user'
                   WHERE "CONFLICTID" = %s""",
                (rng.choice(["R", "W", "I"]), at, i),
            )
        for i in self.pick(ids, 3):
            pg.execute(
                """UPDATE conflictvisitmaps SET "StatusFlag" = %s, "ResolveDate" = %s, "ResolvedBy" = 'user'
                   WHERE "ID" = %s""",
                (rng.choice(["R", "W", "I"]), at, i),
            )
        for i in self.pick(cfs, 2):
            pg.execute(
                'UPDATE conflicts SET "NoResponseFlag" = %s, "NoResponseDate" = %s WHERE "CONFLICTID" = %s',
                (rng.choice(["Yes", "No"]), at, i),
            )
        for i in self.pick(ids, 2):
            pg.execute(
                'UPDATE conflictvisitmaps SET "ConNoResponseFlag" = %s, "ConNoResponseDate" = %s '
                'WHERE "ID" = %s',
                (rng.choice(["Yes", "No"]), at, i),
            )
        for i in self.pick(ids, 1):
            pg.execute(
                """UPDATE conflictvisitmaps SET "FlagForReview" = 'Y', "FlagForReviewDate" = %s
                   WHERE "ID" = %s""",
                (at, i),
            )
        # The source: visits deleted since the last run, on either side.
        pairs = self.pick(ids, 2)
        deleted = []
        for i in pairs:
            row = pg.execute(
                'SELECT "VisitID", "ConVisitID" FROM conflictvisitmaps WHERE "ID" = %s', (i,)
            ).fetchone()
            assert row is not None
            deleted.append(str(row[rng.randint(0, 1)]))
        return deleted


def test_delta_and_window_scopes_agree_after_mixed_changes(
    pg_server_dsn: str, schema: str, twin: str, source_dir: Path
) -> None:
    """D16: after a sequence of runs with pipeline writes, user changes (through their timestamps) and
    deleted visits in between, the delta scope and the full-window pass leave both tables in the same
    state, run after run; each state is a fixed point (one more window pass changes nothing). The delta
    side runs as the pipeline does, phases B, A and C as separate steps (each its own connection, its
    own scope); the window side in one pass."""
    create_deleted_visits_table(source_dir)
    delta_pg, window_pg = (
        connect(pg_server_dsn, schema, autocommit=True),
        connect(pg_server_dsn, twin, autocommit=True),
    )
    try:
        delta = Scenario(delta_pg, seed=20261127)
        window = Scenario(window_pg, seed=20261127)
        start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
        first_written = (start - timedelta(hours=12)).astimezone(NY).replace(tzinfo=None)
        for scenario in (delta, window):
            scenario.new_conflicts(40, first_written)
        previous: datetime | None = None
        delta_res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
        window_res = Resources(pg_dsn=pg_server_dsn, schema=twin, source_dir=source_dir)
        for day in range(5):
            now = start + timedelta(days=day)
            if previous is not None:
                at = (now - timedelta(hours=6)).astimezone(NY).replace(tzinfo=None)
                gone = delta.round(at)
                assert window.round(at) == gone
                add_deleted_visits(source_dir, [(v, VISIT_DAY, now - timedelta(hours=5)) for v in gone])
            for phase in status.PHASES:
                run_status(delta_res, now=now, watermark=previous, phase=phase)
            run_status(window_res, now=now, watermark=previous, status_scope="window")
            assert snapshot(delta_pg) == snapshot(window_pg), f"scopes differ after run {day}"
            previous = now
        state = snapshot(window_pg)
        assert previous is not None
        run_status(window_res, now=previous, watermark=previous, status_scope="window")
        assert snapshot(window_pg) == state
        statuses = {
            r[0] for r in delta_pg.execute('SELECT DISTINCT "StatusFlag" FROM conflictvisitmaps').fetchall()
        }
        assert {"N", "U", "R", "D", "W", "I"} <= statuses  # the sequence exercised every status
    finally:
        delta_pg.close()
        window_pg.close()
