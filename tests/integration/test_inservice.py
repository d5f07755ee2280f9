"""The inservice step (D14) end to end: source rows in the Snowflake
emulation, the step, and the rows it leaves in PostgreSQL. Docstrings cite the decisions.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.source_rows import (
    BUSINESS_TZ,
    CUTOFF,
    OLD,
    RECENT,
    VISIT_DATE,
    WINDOW_END,
    WINDOW_START,
    SourceRows,
    at,
)
from visit_conflicts.columns import FLAG_COLUMNS
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.connection import connect_source
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.steps import inservice as inservice_step
from visit_conflicts.store import detect as pairs_module
from visit_conflicts.store.inservice import forget_scope

SSN = "222-33-4444"


def event_uuid(app_id: int) -> str:
    """The synthetic VisitID as PostgreSQL stores it: md5('I' || id), 32 hex digits, as a dashed uuid."""
    return str(uuid.UUID(hashlib.md5(f"I{app_id}".encode()).hexdigest()))


@dataclass
class World:
    """Source rows, the step's resources and a way to run it."""

    src: SourceRows
    res: Resources
    pg: psycopg.Connection
    runs: int = 0

    def event(
        self,
        app_id: int,
        *,
        provider: str,
        caregiver: str,
        start: datetime | None,
        end: datetime | None,
        updated: datetime = RECENT,
    ) -> str:
        self.src.add(
            "FACTCAREGIVERINSERVICE",
            **{
                "Application Caregiver Inservice Id": app_id,
                "Caregiver Id": caregiver,
                "Provider Id": provider,
                "Office Id": None,
                "Inservice start date": start,
                "Inservice end date": end,
                "Updated Date": updated,
                "Environment": "PROD",
            },
        )
        return event_uuid(app_id)

    def execute(self, statement: str, params: Any = None) -> None:
        cur = self.src.conn.cursor()
        try:
            cur.execute(statement, params)
        finally:
            cur.close()

    def run(self, **overrides: Any) -> StepResult:
        self.src.flush()
        self.runs += 1
        ctx = RunContext(
            run_id=f"run-{self.runs}",
            now=datetime(2024, 5, 12, 16, 0, tzinfo=UTC),
            run_date=date(2024, 5, 12),
            window_start=WINDOW_START,
            window_end=WINDOW_END,
            cutoff=CUTOFF,
            watermark=None,
            business_timezone="America/New_York",
        )
        return inservice_step.run(self.res, ctx, Params(**overrides))

    def pairs(self) -> dict[tuple[str, str], dict[str, Any]]:
        cur = self.pg.execute(
            'SELECT *, xmin::text AS xmin FROM conflictvisitmaps ORDER BY "VisitID", "ConVisitID"'
        )
        names = [d.name for d in cur.description or []]
        return {
            (str(r["VisitID"]), str(r["ConVisitID"])): r
            for r in (dict(zip(names, row, strict=True)) for row in cur.fetchall())
        }

    def pair_keys(self, status: str | None = None) -> set[tuple[str, str]]:
        return {k for k, r in self.pairs().items() if status is None or r["StatusFlag"] == status}


@pytest.fixture
def world(pg_server_dsn: str, schema: str, source_dir: Path, pg: psycopg.Connection) -> Iterator[World]:
    conn = connect_source(source_dir)
    try:
        yield World(
            src=SourceRows(conn),
            res=Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir),
            pg=pg,
        )
    finally:
        conn.close()


def ny(wall_clock: datetime) -> datetime:
    """A business wall-clock time as the source's TIMESTAMP_TZ instant."""
    return wall_clock.replace(tzinfo=BUSINESS_TZ)


def both(visit: str, event: str) -> set[tuple[str, str]]:
    return {(visit, event), (event, visit)}


def test_closed_interval_touching_endpoints_overlap(world: World) -> None:
    """D14 (C.2): visit start <= event end AND visit end >= event start; touching ends count, a
    one-minute gap does not; both directions are stored."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    visit = w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    trainee = w.src.caregiver(SSN)
    after = w.event(101, provider=p2, caregiver=trainee, start=at(13), end=at(15))
    before = w.event(102, provider=p2, caregiver=trainee, start=at(7), end=at(9))
    gap_after = w.event(103, provider=p2, caregiver=trainee, start=at(13, 1), end=at(15))
    gap_before = w.event(104, provider=p2, caregiver=trainee, start=at(7), end=at(8, 59))
    result = w.run()
    assert w.pair_keys() == both(visit, after) | both(visit, before)
    assert not {k for k in w.pair_keys() if gap_after in k or gap_before in k}
    assert (result.counts["inserted"], result.counts["pairs_read"]) == (4, 4)


def test_pair_rows_carry_inservice_marks_and_synthetic_id(world: World) -> None:
    """D14: InServiceFlag 'Y', the seven flags 'N', StatusFlag 'N', a CONFLICTID (D10); the event's
    VisitID is md5('I' || id) stored as a dashed uuid, its AppVisitID the id, its window on its side;
    VisitDate and SSN are the primary side's."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    visit = w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    # The event starts on the visit's day and ends after midnight.
    event = w.event(7_654_321, provider=p2, caregiver=w.src.caregiver(SSN), start=at(12), end=at(26))
    w.run()
    rows = w.pairs()
    forward, backward = rows[(visit, event)], rows[(event, visit)]
    digest = hashlib.md5(b"I7654321").hexdigest()
    stored = w.pg.execute(
        'SELECT "VisitID"::text FROM conflictvisitmaps WHERE "ConVisitID" = %s', (visit,)
    ).fetchone()
    assert stored == (f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}",)
    for row in (forward, backward):
        assert (row["InServiceFlag"], row["PTOFlag"], row["StatusFlag"]) == ("Y", "N", "N")
        assert {row[f] for f in FLAG_COLUMNS} == {"N"}
        assert row["CONFLICTID"] is not None and row["SSN"] == SSN
    assert forward["ConAppVisitID"] == 7_654_321 and backward["AppVisitID"] == 7_654_321
    assert (forward["ConInserviceStartDate"], forward["ConInserviceEndDate"]) == (at(12), at(26))
    assert (forward["InserviceStartDate"], forward["VisitStartTime"]) == (None, at(9))
    assert (backward["InserviceStartDate"], backward["ConVisitEndTime"]) == (at(12), at(13))
    assert forward["VisitDate"] == VISIT_DATE and backward["VisitDate"] == VISIT_DATE
    parents = w.pg.execute(
        'SELECT count(*) FROM conflicts WHERE "CONFLICTID" IN (%s, %s)',
        (forward["CONFLICTID"], backward["CONFLICTID"]),
    ).fetchone()
    assert parents == (2,)


def test_event_at_own_provider_drops_the_visit_for_every_provider(world: World) -> None:
    """D14 (C.2, C.4 step 1, I.21): a visit overlapped by an event of its caregiver at its own provider
    is not eligible, so it pairs with no other provider's event either; a visit of the same person at
    another time still pairs."""
    w = world
    p1, p2, p3 = w.src.provider(), w.src.provider(), w.src.provider()
    aide_p1 = w.src.caregiver(SSN)
    blocked = w.src.visit(provider=p1, caregiver=aide_p1, actual=(at(9), at(13)))
    free = w.src.visit(provider=p1, caregiver=aide_p1, actual=(at(18), at(20)))
    # Touching counts for the exclusion too: the own-provider event ends when the visit starts.
    w.event(201, provider=p1, caregiver=aide_p1, start=at(8), end=at(9))
    other = w.event(202, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(19))
    third = w.event(203, provider=p3, caregiver=w.src.caregiver(SSN), start=at(12), end=at(12, 30))
    w.run()
    assert w.pair_keys() == both(free, other)
    assert not {k for k in w.pair_keys() if blocked in k or third in k}


def test_same_provider_event_and_visit_never_pair(world: World) -> None:
    """D14 (C.2): only different providers conflict; an event at the visit's provider by another
    caregiver record of the same person does not pair with it."""
    w = world
    p1 = w.src.provider()
    w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    w.event(301, provider=p1, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    result = w.run()
    assert w.pair_keys() == set() and result.counts["pairs_read"] == 0


def test_missed_and_unstarted_visits_are_not_eligible(world: World) -> None:
    """D14 (C.4 step 1): missed visits and visits without actual times never pair; scheduled times do
    not count for the overlap."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    aide = w.src.caregiver(SSN)
    missed: dict[str, Any] = {"Is Missed": True}
    w.src.visit(provider=p1, caregiver=aide, actual=(at(9), at(13)), **missed)
    w.src.visit(provider=p1, caregiver=aide, sch=(at(9), at(13)))
    w.event(401, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    assert w.run().counts["pairs_read"] == 0


def test_rerun_writes_nothing(world: World) -> None:
    """D11 with D14: a second run over unchanged sources writes no row (xmin unchanged, no UpdatedDate)
    and resolves nothing."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    visit = w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    event = w.event(501, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    w.run()
    before = w.pairs()
    result = w.run()
    after = w.pairs()
    assert set(after) == both(visit, event)
    assert {k: r["xmin"] for k, r in after.items()} == {k: r["xmin"] for k, r in before.items()}
    assert all(r["UpdatedDate"] is None for r in after.values())
    counts = result.counts
    assert (counts["inserted"], counts["updated"], counts["unchanged"], counts["resolved"]) == (0, 0, 2, 0)
    # The step's ledger-side scratch rows (scope, seen keys) are gone once it is done.
    assert w.pg.execute(
        """SELECT (SELECT count(*) FROM run_inservice_scope_ssn)
                  + (SELECT count(*) FROM run_inservice_scope_event)
                  + (SELECT count(*) FROM run_seen_pair)"""
    ).fetchone() == (0,)


def test_moved_event_resolves_its_old_pairs_and_keeps_user_statuses(world: World) -> None:
    """D12 with D14: an event that moved no longer overlaps its old visits; their 'N'/'U' pairs become
    'R' with a ResolveDate, a 'W' pair is left alone, and the new overlap is inserted with the event's
    conflict id (D10)."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    aide = w.src.caregiver(SSN)
    morning = w.src.visit(provider=p1, caregiver=aide, actual=(at(9), at(13)))
    evening = w.src.visit(provider=p1, caregiver=aide, actual=(at(18), at(20)))
    trainee = w.src.caregiver(SSN)
    event = w.event(601, provider=p2, caregiver=trainee, start=at(10), end=at(11), updated=OLD)
    w.run()
    first = w.pairs()
    assert set(first) >= both(morning, event)
    w.pg.execute(
        """UPDATE conflictvisitmaps SET "StatusFlag" = 'W' WHERE "VisitID" = %s AND "ConVisitID" = %s""",
        (event, morning),
    )
    w.execute(
        """UPDATE FACTCAREGIVERINSERVICE SET "Inservice start date" = %s, "Inservice end date" = %s,
           "Updated Date" = %s WHERE "Application Caregiver Inservice Id" = 601""",
        (ny(at(19)), ny(at(19, 30)), ny(RECENT)),
    )
    result = w.run()
    rows = w.pairs()
    assert rows[(morning, event)]["StatusFlag"] == "R"
    assert rows[(morning, event)]["ResolveDate"] is not None
    assert rows[(event, morning)]["StatusFlag"] == "W"
    assert {rows[k]["StatusFlag"] for k in both(evening, event)} == {"N"}
    assert rows[(event, evening)]["CONFLICTID"] == first[(event, morning)]["CONFLICTID"]
    assert result.counts["resolved"] >= 1


def test_update_preserves_conflict_id_and_created_date(world: World) -> None:
    """D14 (I.1) with D11: a changed visit updates its pairs ('U'), keeping CONFLICTID and CreatedDate."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    visit = w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    event = w.event(701, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    w.run()
    before = w.pairs()
    w.execute(
        """UPDATE FACTVISITCALLPERFORMANCE_CR SET "Call Out Device Type" = 'Landline'
           WHERE "Visit Id" = %s""",
        (visit,),
    )
    result = w.run()
    after = w.pairs()
    assert result.counts["updated"] == 2
    for key in both(visit, event):
        assert after[key]["StatusFlag"] == "U" and after[key]["UpdatedDate"] is not None
        assert after[key]["CONFLICTID"] == before[key]["CONFLICTID"] is not None
        assert after[key]["CreatedDate"] == before[key]["CreatedDate"]
    assert after[(visit, event)]["EVVType"] == "Landline"
    assert after[(event, visit)]["ConEVVType"] == "Landline"


def test_stored_pair_without_conflict_id_gets_one(world: World) -> None:
    """D10 with D14 (I.1): a stored InService pair whose CONFLICTID the legacy update nulled gets the
    conflict of another row with the same VisitID, else a new parent; none stays NULL."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    aide = w.src.caregiver(SSN)
    morning = w.src.visit(provider=p1, caregiver=aide, actual=(at(9), at(13)))
    evening = w.src.visit(provider=p1, caregiver=aide, actual=(at(18), at(20)))
    event = w.event(801, provider=p2, caregiver=w.src.caregiver(SSN), start=at(12), end=at(19))
    w.run()
    first = w.pairs()
    w.pg.execute(
        """UPDATE conflictvisitmaps SET "CONFLICTID" = NULL
           WHERE ("VisitID", "ConVisitID") IN ((%s, %s), (%s, %s))""",
        (event, morning, morning, event),
    )
    result = w.run()
    rows = w.pairs()
    assert rows[(event, morning)]["CONFLICTID"] == first[(event, evening)]["CONFLICTID"]
    assert rows[(morning, event)]["CONFLICTID"] is not None
    assert rows[(morning, event)]["CONFLICTID"] not in {r["CONFLICTID"] for k, r in first.items()}
    assert result.counts["conflict_ids_assigned"] == 2 and result.counts["new_conflicts"] == 1
    assert w.pg.execute('SELECT count(*) FROM conflictvisitmaps WHERE "CONFLICTID" IS NULL').fetchone() == (
        0,
    )


def test_delta_mode_takes_changed_rows_and_their_counterparts_window_mode_everything(world: World) -> None:
    """D14: delta mode evaluates the people with an event or visit changed since the cutoff, including
    their unchanged counterparts, and leaves everyone else alone; a hard-deleted event (no row left to
    show a change) is found among the stored pairs' events and its pairs are resolved; window mode
    re-evaluates the whole window and finds nothing left to do."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    other_ssn = "999-88-7777"
    # Person A: everything old; their event is deleted from the source after the first run.
    old_visit = w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)), updated=OLD)
    old_event = w.event(
        901, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11), updated=OLD
    )
    result = w.run(inservice_scope="window")
    assert w.pair_keys("N") == both(old_visit, old_event)
    assert result.counts["scope_events"] == 0
    w.execute('DELETE FROM FACTCAREGIVERINSERVICE WHERE "Application Caregiver Inservice Id" = 901')
    # Person B: an unchanged visit, and a new event (changed) that overlaps it.
    counterpart = w.src.visit(
        provider=p1, caregiver=w.src.caregiver(other_ssn), actual=(at(9), at(13)), updated=OLD
    )
    new_event = w.event(902, provider=p2, caregiver=w.src.caregiver(other_ssn), start=at(12), end=at(14))
    delta = w.run()
    # The scope is the changed event and the deleted one: no visit changed, none is at the events'
    # providers.
    counts = delta.counts
    assert (counts["scope_visits"], counts["scope_events"], counts["scope_deleted_events"]) == (0, 1, 1)
    assert w.pair_keys("R") == both(old_visit, old_event)
    assert w.pair_keys("N") == both(counterpart, new_event)
    assert delta.counts["resolved"] == 2
    again = w.run()  # resolved pairs are no longer open: the deleted event is not looked up again
    assert (again.counts["scope_deleted_events"], again.counts["resolved"]) == (0, 0)
    window = w.run(inservice_scope="window")
    assert w.pair_keys("R") == both(old_visit, old_event)
    assert w.pair_keys("N") == both(counterpart, new_event)
    assert (window.counts["resolved"], window.counts["scope_deleted_events"]) == (0, 0)


def test_changed_visit_re_decides_its_pairs(world: World) -> None:
    """D14 delta mode: a visit that moved away from an (unchanged) event resolves their pairs."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    visit = w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)), updated=OLD)
    event = w.event(1001, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11), updated=OLD)
    w.run(inservice_scope="window")
    w.execute(
        """UPDATE FACTVISITCALLPERFORMANCE_CR SET "Visit Start Time" = %s, "Visit End Time" = %s,
           "Visit Updated Timestamp" = %s WHERE "Visit Id" = %s""",
        (ny(at(14)), ny(at(16)), ny(RECENT), visit),
    )
    result = w.run()
    assert w.pair_keys("R") == both(visit, event) and result.counts["resolved"] == 2


def test_delta_mode_stores_what_window_mode_stores_for_the_same_changes(world: World) -> None:
    """D14: after a visit moved, events moved in time or to another provider (freeing or blocking a visit
    of their caregiver record at their provider), events soft-deleted (times cleared) and an event moved
    to another person, the delta run leaves exactly the rows a window run over the same sources would:
    the window run after it writes, reopens and resolves nothing. The delta run reads only the pairs of
    the changed visits and events and of the changed events' caregiver records' visits, not the
    untouched pairs of the same people."""
    w = world
    p1, p2, p3 = w.src.provider(), w.src.provider(), w.src.provider()
    ssn = [f"100-00-{n:04d}" for n in range(9)]

    def event(app_id: int, provider: str, caregiver: str, start: datetime, end: datetime) -> str:
        return w.event(app_id, provider=provider, caregiver=caregiver, start=start, end=end, updated=OLD)

    def visit(provider: str, caregiver: str, start: datetime, end: datetime) -> str:
        return w.src.visit(provider=provider, caregiver=caregiver, actual=(start, end), updated=OLD)

    # 1: a visit moves away from an event.
    moved_visit = visit(p1, w.src.caregiver(ssn[1]), at(9), at(13))
    event_1 = event(1501, p2, w.src.caregiver(ssn[1]), at(10), at(11))
    # 2: an event of the visit's record at its provider blocks it, then moves off it in time.
    record_2 = w.src.caregiver(ssn[2])
    freed_2 = visit(p1, record_2, at(18), at(20))
    event(1502, p1, record_2, at(18, 30), at(19))
    event_2 = event(1503, p2, w.src.caregiver(ssn[2]), at(19), at(21))
    # 3: an event of the visit's record at its provider moves onto it in time and blocks it.
    record_3 = w.src.caregiver(ssn[3])
    blocked_3 = visit(p3, record_3, at(9), at(12))
    event_3 = event(1504, p2, w.src.caregiver(ssn[3]), at(10), at(11))
    event(1505, p3, record_3, at(22), at(23))
    # 4: an event of the visit's record at its provider moves to another provider.
    record_4 = w.src.caregiver(ssn[4])
    freed_4 = visit(p1, record_4, at(9), at(12))
    moved_4 = event(1506, p1, record_4, at(10), at(11))
    event_4 = event(1507, p2, w.src.caregiver(ssn[4]), at(9, 30), at(10))
    # 5: soft deletes (times cleared): an event with pairs, and an event that blocked a visit.
    record_5 = w.src.caregiver(ssn[5])
    visit_5 = visit(p1, record_5, at(9), at(13))
    deleted_5 = event(1508, p2, w.src.caregiver(ssn[5]), at(10), at(11))
    freed_5 = visit(p1, record_5, at(18), at(20))
    event(1509, p1, record_5, at(19), at(19, 30))
    event_5 = event(1510, p2, w.src.caregiver(ssn[5]), at(18), at(19))
    # 6 -> 7: an event moves to another person's record, at a provider where that record has a visit.
    visit_6 = visit(p1, w.src.caregiver(ssn[6]), at(9), at(13))
    moving = event(1511, p2, w.src.caregiver(ssn[6]), at(10), at(11))
    visit_7 = visit(p3, w.src.caregiver(ssn[7]), at(10), at(12))
    record_7 = w.src.caregiver(ssn[7])
    blocked_7 = visit(p2, record_7, at(10, 30), at(11, 30))
    event_7 = event(1512, p1, w.src.caregiver(ssn[7]), at(10), at(11))
    # 8: nothing changes.
    visit_8 = visit(p1, w.src.caregiver(ssn[8]), at(9), at(13))
    event_8 = event(1513, p2, w.src.caregiver(ssn[8]), at(10), at(11))
    w.run(inservice_scope="window")
    assert w.pair_keys("N") == (
        both(moved_visit, event_1)
        | both(blocked_3, event_3)
        | both(visit_5, deleted_5)
        | both(visit_6, moving)
        | both(visit_7, event_7)
        | both(blocked_7, event_7)
        | both(visit_8, event_8)
    )
    untouched = {
        k: r["xmin"] for k, r in w.pairs().items() if k in both(visit_7, event_7) | both(visit_8, event_8)
    }

    recent = ny(RECENT)
    w.execute(
        """UPDATE FACTVISITCALLPERFORMANCE_CR SET "Visit Start Time" = %s, "Visit End Time" = %s,
           "Visit Updated Timestamp" = %s WHERE "Visit Id" = %s""",
        (ny(at(14)), ny(at(16)), recent, moved_visit),
    )
    for app_id, start, end in (
        (1502, at(6), at(7)),
        (1505, at(11), at(11, 30)),
        (1508, None, None),
        (1509, None, None),
    ):
        w.execute(
            """UPDATE FACTCAREGIVERINSERVICE SET "Inservice start date" = %s, "Inservice end date" = %s,
               "Updated Date" = %s WHERE "Application Caregiver Inservice Id" = %s""",
            (start and ny(start), end and ny(end), recent, app_id),
        )
    for app_id, column, value in ((1506, "Provider Id", p3), (1511, "Caregiver Id", record_7)):
        w.execute(
            f"""UPDATE FACTCAREGIVERINSERVICE SET "{column}" = %s, "Updated Date" = %s
                WHERE "Application Caregiver Inservice Id" = %s""",
            (value, recent, app_id),
        )
    delta = w.run()
    after_delta = w.pairs()
    statuses = {k: r["StatusFlag"] for k, r in after_delta.items()}
    resolved = (
        both(moved_visit, event_1)
        | both(blocked_3, event_3)
        | both(visit_5, deleted_5)
        | both(visit_6, moving)
        | both(blocked_7, event_7)
    )
    open_pairs = (
        both(freed_2, event_2)
        | both(freed_4, event_4)
        | both(freed_4, moved_4)
        | both(freed_5, event_5)
        | both(visit_7, moving)
        | both(visit_7, event_7)
        | both(visit_8, event_8)
    )
    assert statuses == {**dict.fromkeys(resolved, "R"), **dict.fromkeys(open_pairs, "N")}
    # Neither read nor rewritten: the pairs of unchanged sides, a changed person's included.
    assert {k: after_delta[k]["xmin"] for k in untouched} == untouched
    assert (delta.counts["pairs_read"], delta.counts["resolved"]) == (10, 10)

    window = w.run(inservice_scope="window")
    counts = window.counts
    assert (counts["inserted"], counts["updated"], counts["reopened"], counts["resolved"]) == (0, 0, 0, 0)
    assert counts["pairs_read"] == 14
    assert w.pairs() == after_delta


def test_excluded_ssn_pairs_are_neither_produced_nor_resolved(world: World) -> None:
    """D14 (C.3) with D12: an excluded SSN's visits and events do not pair, and its stored pairs are out
    of the stale-cleanup scope, even in window mode."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    visit = w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    event = w.event(1101, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    w.run()
    w.pg.execute("""INSERT INTO excluded_ssn ("SSN") VALUES (%s)""", (f" {SSN} ",))
    result = w.run(inservice_scope="window")
    assert result.counts["pairs_read"] == 0 and result.counts["resolved"] == 0
    assert w.pair_keys("N") == both(visit, event)


def test_unusable_events_are_skipped_and_counted(world: World) -> None:
    """D23: events without an id, with the end before the start, or outside the window are skipped and
    counted per reason; nothing partial is written."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    trainee = w.src.caregiver(SSN)
    w.src.add(
        "FACTCAREGIVERINSERVICE",
        **{
            "Application Caregiver Inservice Id": None,
            "Caregiver Id": trainee,
            "Provider Id": p2,
            "Inservice start date": at(10),
            "Inservice end date": at(11),
            "Updated Date": RECENT,
        },
    )
    w.event(1201, provider=p2, caregiver=trainee, start=at(11), end=at(10))
    late = date(2026, 1, 5)
    w.event(1202, provider=p2, caregiver=trainee, start=at(10, day=late), end=at(11, day=late))
    w.event(1203, provider=p2, caregiver=trainee, start=None, end=at(11))
    result = w.run()
    counts = result.counts
    assert counts["pairs_read"] == 0 and w.pair_keys() == set()
    assert counts["skipped_event_invalid_event_id"] == 1
    assert counts["skipped_event_end_before_start"] == 1
    assert counts["skipped_event_outside_window"] == 1
    assert counts["skipped_event_missing_time"] == 1


def test_unusable_visits_are_skipped_and_counted(world: World) -> None:
    """D23: overlapping visits with a bad id or the end before the start are skipped and counted; the
    usable visit beside them still pairs."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    aide = w.src.caregiver(SSN)
    good = w.src.visit(provider=p1, caregiver=aide, actual=(at(9), at(13)))
    w.src.visit(provider=p1, caregiver=aide, actual=(at(9), at(13)), visit_id="not-a-uuid")
    w.src.visit(provider=p1, caregiver=aide, actual=(at(12), at(10)))
    event = w.event(1250, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    counts = w.run().counts
    assert w.pair_keys() == both(good, event)
    assert (counts["skipped_visit_invalid_visit_id"], counts["skipped_visit_end_before_start"]) == (1, 1)


def test_failed_batch_resolves_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """D12 with D14: stale cleanup never runs after a partial evaluation; the old pairs stay open."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    aide = w.src.caregiver(SSN)
    morning = w.src.visit(provider=p1, caregiver=aide, actual=(at(9), at(13)))
    w.src.visit(provider=p1, caregiver=aide, actual=(at(18), at(20)))
    event = w.event(1301, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    w.run()
    w.execute(
        """UPDATE FACTCAREGIVERINSERVICE SET "Inservice start date" = %s, "Inservice end date" = %s
           WHERE "Application Caregiver Inservice Id" = 1301""",
        (ny(at(19)), ny(at(19, 30))),
    )

    def fail(self: Any, prepared: Any, *, now: datetime) -> Any:
        raise RuntimeError("connection lost")

    monkeypatch.setattr(pairs_module.PairWriter, "write_prepared", fail)
    with pytest.raises(RuntimeError, match="connection lost"):
        w.run()
    assert w.pair_keys("N") == both(morning, event)


def test_disabled_step_is_skipped(world: World) -> None:
    """D14 / config: enable_inservice = false skips the step and writes nothing."""
    w = world
    p1, p2 = w.src.provider(), w.src.provider()
    w.src.visit(provider=p1, caregiver=w.src.caregiver(SSN), actual=(at(9), at(13)))
    w.event(1401, provider=p2, caregiver=w.src.caregiver(SSN), start=at(10), end=at(11))
    result = w.run(enable_inservice=False)
    assert result.status == "skipped" and w.pair_keys() == set()


def test_scope_rows_of_a_finished_step_leave_no_index_behind(pg: psycopg.Connection) -> None:
    """Issue 13 (O(delta)): a first load's InService scope (millions of sides) left its index at 517 MB
    with no row in it at SF 0.1 (VACUUM never shrinks an index); forgetting the scope of the only run
    in the table empties table and index, while another run's scope is only deleted from."""

    def sizes() -> tuple[int, int]:
        row = pg.execute(
            "SELECT pg_relation_size('run_inservice_scope_event'),"
            " pg_relation_size('run_inservice_scope_event_key')"
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    fill = """INSERT INTO run_inservice_scope_event (run_id, "VisitID")
              SELECT %s, gen_random_uuid() FROM generate_series(1, %s)"""
    pg.execute(fill, ("loaded", 20_000))
    assert min(sizes()) > 300_000
    forget_scope(pg, "loaded")
    assert sizes() == (0, 8192)
    pg.execute(fill, ("loaded", 2_000))
    pg.execute(fill, ("other", 1))
    forget_scope(pg, "loaded")
    assert pg.execute("SELECT run_id, count(*) FROM run_inservice_scope_event GROUP BY 1").fetchall() == [
        ("other", 1)
    ]
