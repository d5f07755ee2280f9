"""PostgreSQL side of the inservice step (D14): its ledger-side scope and its stale cleanup (D12).

The delta scope is a set of sides, the visit and event ids whose pairs the run re-evaluated; it lives
in the unlogged table `run_inservice_scope_event` of migration 0005 ("VisitID": a visit's id or an
event's synthetic id, either side of a pair), keyed by run id, and the pair keys the step produced in
`run_seen_pair` under `INSERVICE_CHUNK`. (`run_inservice_scope_ssn`, the caregiver scope of earlier
versions, is only cleared.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.detect import inservice_pair
from visit_conflicts.store.scratch import purge_run_rows

# The chunk value of the inservice step's seen keys in run_seen_pair (detect chunks are >= 0).
INSERVICE_CHUNK = -2


def forget_scope(conn: psycopg.Connection, run_id: str) -> None:
    """The run's InService scratch rows (scope and seen keys): removed when the step starts over and
    when it is done (nothing after the step reads them), so the unlogged tables do not grow run by run
    (truncated when they hold this run's rows only: `store.scratch.purge_run_rows`)."""
    purge_run_rows(conn, "run_inservice_scope_ssn", run_id)
    purge_run_rows(conn, "run_inservice_scope_event", run_id)
    conn.execute("DELETE FROM run_seen_pair WHERE run_id = %s AND chunk = %s", (run_id, INSERVICE_CHUNK))


def replace_scope(
    conn: psycopg.Connection, run_id: str, visit_ids: Iterable[list[str]], event_ids: Iterable[list[str]]
) -> tuple[int, int]:
    """Start the run's InService scratch rows over with this scope, the ids of its visits and of its
    changed events (inside the caller's transaction); returns (visits, events)."""
    forget_scope(conn, run_id)
    counted = []
    with (
        conn.cursor() as cur,
        cur.copy('COPY run_inservice_scope_event (run_id, "VisitID") FROM STDIN') as copy,
    ):
        for sides in (visit_ids, event_ids):
            n = 0
            for batch in sides:
                for side in batch:
                    copy.write_row((run_id, side))
                n += len(batch)
            counted.append(n)
    conn.execute("ANALYZE run_inservice_scope_event")
    return counted[0], counted[1]


def add_deleted_events(
    conn: psycopg.Connection,
    run_id: str,
    present: Iterable[list[str]],
    *,
    window_start: date,
    window_end: date,
) -> int:
    """Delta mode (D14): add to the run's scope the events with open InService pairs in the window that
    are no longer in the source (`present`: the source's event ids, `InServiceSource.present_events`),
    so the stale cleanup re-decides their pairs (inside the caller's transaction, after `replace_scope`);
    returns how many were added."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _inservice_present_event (visit_id uuid NOT NULL) ON COMMIT DROP"
    )
    conn.execute("TRUNCATE _inservice_present_event")
    with conn.cursor() as cur, cur.copy("COPY _inservice_present_event (visit_id) FROM STDIN") as copy:
        for batch in present:
            for visit_id in batch:
                copy.write_row((visit_id,))
    conn.execute(
        "CREATE INDEX IF NOT EXISTS _inservice_present_event_id ON _inservice_present_event (visit_id)"
    )
    conn.execute("ANALYZE _inservice_present_event")
    statement = sql.SQL(read_sql("postgres/inservice/add_deleted_events.sql")).format(
        inservice=inservice_pair("c")
    )
    added = len(
        conn.execute(
            statement, {"run_id": run_id, "window_start": window_start, "window_end": window_end}
        ).fetchall()
    )
    if added:
        # replace_scope analysed the table already; only added rows make that estimate stale.
        conn.execute("ANALYZE run_inservice_scope_event")
    return added


def resolve_stale_pairs(
    conn: psycopg.Connection,
    *,
    run_id: str,
    window_start: date,
    window_end: date,
    whole_window: bool,
    now: datetime,
) -> int:
    """D12 for InService pairs: resolve the run's in-scope pairs it did not produce (inside the caller's
    transaction); returns the number of pairs resolved (measured, D13)."""
    conn.execute("ANALYZE run_seen_pair")
    statement = sql.SQL(read_sql("postgres/inservice/resolve_stale_pairs.sql")).format(
        inservice=inservice_pair("c")
    )
    cur = conn.execute(
        statement,
        {
            "run_id": run_id,
            "chunk": INSERVICE_CHUNK,
            "window_start": window_start,
            "window_end": window_end,
            "whole_window": whole_window,
            "now": now,
        },
    )
    return len(cur.fetchall())
