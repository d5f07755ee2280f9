"""Snowflake side of the status step: the visits deleted in the source since the cutoff (Phase B).

The statement (`sql/snowflake/status/select_deleted_visits.sql`) returns one row per distinct visit id
and window test with its number of source rows; the step keeps the usable ids and counts the rest per
reason (D23). Run parameters are bound literals (D1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from visit_conflicts.context import RunContext
from visit_conflicts.source.common import timestamp_tz_text
from visit_conflicts.sql_files import read_sql

_FETCH_BATCH = 50_000


def iter_deleted_visits(sf_conn: Any, ctx: RunContext) -> Iterator[tuple[Any, bool, int]]:
    """(visit id as the source has it, inside the window?, source rows) of every visit deleted since the
    run's cutoff."""
    bind = {
        "time_zone": ctx.business_timezone,
        "cutoff": timestamp_tz_text(ctx.cutoff),
        "window_start": ctx.window_start.isoformat(),
        "window_end": ctx.window_end.isoformat(),
    }
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql("snowflake/status/select_deleted_visits.sql"), bind)
        while batch := cur.fetchmany(_FETCH_BATCH):
            for visit_id, in_window, source_rows in batch:
                yield visit_id, bool(in_window), int(source_rows)
    finally:
        cur.close()
