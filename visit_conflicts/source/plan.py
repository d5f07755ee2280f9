"""Snowflake side of the plan step: the run's delta groups, and the run's unusable source rows.

A delta group is a (visit date, trimmed SSN) with at least one visit updated since the cutoff, inside
the window, with exclusions applied (`sql/snowflake/plan/create_delta_group.sql`). The groups go into
the session table `VC_DELTA_GROUP`, each with its chunk; `iter_delta_groups` streams them to PostgreSQL,
where detect reads them back (`source.detect.load_delta_groups`).

`count_skipped_rows` counts the unusable source rows of the scope once per run, per chunk and reason
(D23; `sql/snowflake/plan/count_skipped_rows.sql`), over the same session tables: the rows of the
groups are found with cheap predicates first (`common.create_scope_rows`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from visit_conflicts.source.common import (
    SourceScope,
    as_date,
    check_batch_size,
    check_paramstyle,
    create_scope_rows,
    load_reference_data,
    run_params,
)
from visit_conflicts.sql_files import read_sql

if TYPE_CHECKING:
    from visit_conflicts.store.reference import ReferenceData

_PLAN_SQL = "snowflake/plan/{}.sql"

# D23 reasons, in the order a row is classified (each skipped row counts once).
SKIP_REASONS: tuple[str, ...] = (
    "invalid_visit_id",
    "invalid_provider_id",
    "end_before_start",
    "duplicate_visit_row",
    "outside_window",
    "missing_provider",
    "missing_caregiver",
    "invalid_ssn",
    "blank_ssn",
)
# Values of usable rows that detection ignores, counted as notes (the row is used; see the SQL).
NOTES: tuple[str, ...] = ("unusable_gps", "unknown_bill_value")
NOTE_PREFIX = "note:"


def create_delta_groups(sf_conn: Any, scope: SourceScope, ref: ReferenceData) -> None:
    """(Re)build the session tables: reference data, then the scope's delta groups (`VC_DELTA_GROUP`)."""
    check_paramstyle(sf_conn)
    cur = sf_conn.cursor()
    try:
        load_reference_data(cur, ref)
        cur.execute(read_sql(_PLAN_SQL.format("create_delta_group")), run_params(scope))
    finally:
        cur.close()


def iter_delta_groups(
    sf_conn: Any, scope: SourceScope, ref: ReferenceData, batch_size: int
) -> Iterator[list[tuple[date, str, int]]]:
    """Stream the scope's delta groups as batches of (visit_date, ssn, chunk)."""
    check_batch_size(batch_size)
    create_delta_groups(sf_conn, scope, ref)
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(_PLAN_SQL.format("select_delta_groups")))
        while rows := cur.fetchmany(batch_size):
            yield [(as_date(d), str(s), int(c)) for d, s, c in rows]
    finally:
        cur.close()


def count_skipped_rows(
    sf_conn: Any,
    scope: SourceScope,
    days: Iterable[date],
    *,
    chunks: Collection[int] | None = None,
    rows_ready: bool = False,
) -> dict[str, int]:
    """Unusable source rows of the session's delta groups (`VC_DELTA_GROUP`, built on this connection
    by `iter_delta_groups` or detect's loader; `days`: their visit dates) and of the rows updated since
    the cutoff, per reason (D23), added up over `chunks` (None: every chunk); ignored values per note
    under `note:<name>`. Every reason of SKIP_REASONS and every note of NOTES is present.

    `rows_ready`: the groups' source rows (`common.create_scope_rows`) were just built on this
    connection for these groups, so they are not rebuilt."""
    check_paramstyle(sf_conn)
    per_chunk: dict[int, dict[str, int]] = defaultdict(dict)
    cur = sf_conn.cursor()
    try:
        if not rows_ready:
            create_scope_rows(cur, scope, days)
        cur.execute(read_sql(_PLAN_SQL.format("count_skipped_rows")), run_params(scope))
        for chunk, reason, n in cur.fetchall():
            per_chunk[int(chunk)][str(reason)] = int(n)
    finally:
        cur.close()
    counts = dict.fromkeys((*SKIP_REASONS, *(NOTE_PREFIX + n for n in NOTES)), 0)
    for chunk, reasons in per_chunk.items():
        if chunks is None or chunk in chunks:
            for reason, n in reasons.items():
                counts[reason] = counts.get(reason, 0) + n
    return counts


def skip_counters(counts: dict[str, int]) -> dict[str, int]:
    """Step counters of `count_skipped_rows`: `skipped_<reason>` for a skipped row, `noted_<name>` for an
    ignored value of a used row."""
    return {
        (
            "noted_" + reason.removeprefix(NOTE_PREFIX)
            if reason.startswith(NOTE_PREFIX)
            else f"skipped_{reason}"
        ): n
        for reason, n in sorted(counts.items())
    }
