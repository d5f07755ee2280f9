"""The payer view (`mv_payer_conflicts_common`) maintained for the changed conflicts only (issue 13).

PostgreSQL refreshes a materialized view whole, and readers and the production pg_cron job (which runs
`REFRESH MATERIALIZED VIEW ... mv_payer_conflicts_common` by name) expect one: migration 0034 keeps it, as
a view of the table `payer_conflicts_common`, which this module maintains, plus the rows of the conflicts
changed since, computed live from the change log (migration 0032). So:

- `maintain_payer_view`: in one transaction, the rows of the conflicts in the change log are computed
  again (`payer_conflict_rows`, the view's definition for those conflicts) and the log entries taken in
  are deleted; "rebuild" (repair, or when the log asks for it: `payers` changed, a TRUNCATE) computes
  every row. Then the view is refreshed (concurrently; plain as fallback): a copy of the table plus the
  conflicts changed meanwhile, no longer the whole computation. That copy is still O(table) (a
  concurrent refresh also compares old and new rows: 34 s at 1.36M view rows, a plain one 12 s but it
  locks readers out); with `payer_view_refresh = "cron"` (the default) the run leaves it to the pg_cron
  job when the job was active before the run.
- Between runs, the cron job's refresh computes the conflicts users changed since the last maintenance,
  so the view still follows them.

Statements: `sql/postgres/payer_view/`. Needs an autocommit connection (REFRESH CONCURRENTLY cannot run
in a transaction block).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.maintenance import refresh_view

PayerViewMode = Literal["delta", "rebuild"]


@dataclass(frozen=True)
class PayerViewMaintenance:
    """Measured outcome (D13)."""

    mode: str  # "delta" or "rebuild" (asked for, or because the change log asked for it)
    changes: int  # change log entries taken in
    conflicts: int  # conflicts computed again (delta)
    rows_removed: int
    rows_written: int
    refresh: str  # what the view refresh did
    compute_seconds: float = 0.0  # the table brought up to date (one transaction)
    refresh_seconds: float = 0.0  # the view refreshed


def _sql(name: str) -> str:
    return read_sql(f"postgres/payer_view/{name}.sql")


def maintain_payer_view(
    conn: psycopg.Connection, *, view: str, mode: PayerViewMode, now: datetime, refresh: bool = True
) -> PayerViewMaintenance:
    """Bring `payer_conflicts_common` up to date (the changed conflicts, or all with "rebuild"), then
    refresh `view` unless `refresh` is false (the pg_cron job will: its refresh computes the conflicts
    changed since, so the view is exact whenever it is refreshed). `now` is the run's clock, recorded
    with the maintenance."""
    if not conn.autocommit:
        raise RuntimeError("maintain_payer_view needs an autocommit connection (the view refresh)")
    started = time.perf_counter()
    with conn.transaction():
        reader = conn.execute(_sql("select_reader")).fetchone()
        changes = conn.execute(_sql("take_changes")).rowcount
        # Planned as a handful of rows, the joins on it (and the consuming DELETE) loop over whole tables.
        conn.execute("ANALYZE _payer_view_log")
        rebuild = mode == "rebuild" or reader is None or bool(reader[0])
        conflicts = 0
        if rebuild:
            removed = conn.execute(_sql("delete_all_rows")).rowcount
            written = conn.execute(_sql("rebuild_rows")).rowcount
        else:
            conflicts = conn.execute(_sql("changed_conflicts")).rowcount
            conn.execute("ANALYZE _payer_view_conflicts")
            removed = conn.execute(_sql("delete_conflict_rows")).rowcount
            written = conn.execute(_sql("insert_conflict_rows")).rowcount
        conn.execute(_sql("consume_changes"))
        conn.execute(_sql("record_maintenance"), {"now": now})
    computed = time.perf_counter()
    refreshed = refresh_view(conn, view) if refresh else "left to the pg_cron job"
    return PayerViewMaintenance(
        mode="rebuild" if rebuild else "delta",
        changes=changes,
        conflicts=conflicts,
        rows_removed=removed,
        rows_written=written,
        refresh=refreshed,
        compute_seconds=round(computed - started, 3),
        refresh_seconds=round(time.perf_counter() - computed, 3) if refresh else 0.0,
    )
