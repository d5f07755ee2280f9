"""PostgreSQL side of the inservice step (D14): its ledger-side scope and its stale cleanup (D12).

The scope (caregiver SSNs and changed event ids, delta mode) lives in the unlogged tables of migration
0005, keyed by run id, and the pair keys the step produced in `run_seen_pair` under `INSERVICE_CHUNK`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.detect import inservice_pair

# The chunk value of the inservice step's seen keys in run_seen_pair (detect chunks are >= 0).
INSERVICE_CHUNK = -2


def forget_scope(conn: psycopg.Connection, run_id: str) -> None:
    """The run's InService scratch rows (scope and seen keys): removed when the step starts over and
    when it is done (nothing after the step reads them), so the unlogged tables do not grow run by run."""
    conn.execute("DELETE FROM run_inservice_scope_ssn WHERE run_id = %s", (run_id,))
    conn.execute("DELETE FROM run_inservice_scope_event WHERE run_id = %s", (run_id,))
    conn.execute("DELETE FROM run_seen_pair WHERE run_id = %s AND chunk = %s", (run_id, INSERVICE_CHUNK))


def replace_scope(
    conn: psycopg.Connection, run_id: str, ssns: Iterable[list[str]], event_ids: Iterable[list[str]]
) -> tuple[int, int]:
    """Start the run's InService scratch rows over with this scope (inside the caller's transaction);
    returns (SSNs, events)."""
    forget_scope(conn, run_id)
    n_ssns = n_events = 0
    with conn.cursor() as cur:
        with cur.copy('COPY run_inservice_scope_ssn (run_id, "SSN") FROM STDIN') as copy:
            for batch in ssns:
                for ssn in batch:
                    copy.write_row((run_id, ssn))
                n_ssns += len(batch)
        with cur.copy('COPY run_inservice_scope_event (run_id, "VisitID") FROM STDIN') as copy:
            for batch in event_ids:
                for event_id in batch:
                    copy.write_row((run_id, event_id))
                n_events += len(batch)
    conn.execute("ANALYZE run_inservice_scope_ssn")
    conn.execute("ANALYZE run_inservice_scope_event")
    return n_ssns, n_events


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
