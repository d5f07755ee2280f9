"""Snowflake side of the detect step: the conflict pairs of one chunk of the run's delta scope.

Snowflake (or its emulation) does the relational work next to the data, so only conflict pairs leave
it:

1. the reference data and the chunk's delta groups go into session tables (`source.plan`);
2. one query (`sql/snowflake/detect/select_conflict_pairs.sql`) reads the base visits of those groups
   with their dimension rows, pairs every two visits of a group at different providers in both
   orientations (D4), evaluates rules 1-7 (D5-D7), keeps pairs with a 'Y' flag that pass the
   cross-state filter, one row per pair key (D8) -> `iter_pair_tables`, Arrow batches of one fixed
   schema (`common.pair_arrow_schema`), whatever widths and units the result chunks come in;
3. `count_skipped_rows` counts the unusable source rows of the chunk's scope per reason (D23).

Each public function (re)builds the session tables it needs on the connection it is given, so they can
be called in any order; temp tables are private to the connection (one connection per thread).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from visit_conflicts.source.common import (
    SourceScope,
    check_batch_size,
    conform_table,
    run_params,
    stream_rows,
)
from visit_conflicts.source.plan import create_delta_groups
from visit_conflicts.sql_files import read_sql

if TYPE_CHECKING:
    from visit_conflicts.store.reference import ReferenceData

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

_DETECT_SQL = "snowflake/detect/{}.sql"


def iter_pair_tables(
    sf_conn: Any, scope: SourceScope, ref: ReferenceData, batch_size: int, schema: Any
) -> Iterator[Any]:
    """The scope's conflict pairs, as Arrow tables of at most `batch_size` rows with exactly `schema`
    (`common.pair_arrow_schema` of the pair columns), each ordered pair key once (D8). Both the
    connector and the emulation hand out result batches that convert to Arrow without per-value Python
    work; every batch is cast to `schema` before batches are joined, so result chunks of different
    integer widths or timestamp units always join. The writer encodes them for COPY in bulk. Memory
    stays bounded by one result batch plus one output batch."""
    import pyarrow as pa

    check_batch_size(batch_size)
    create_delta_groups(sf_conn, scope, ref)
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(_DETECT_SQL.format("select_conflict_pairs")), run_params(scope))
        batches = cur.get_result_batches()
        if batches is None:  # pragma: no cover - a connector without result batches
            yield from stream_rows(cur, batch_size)
            return
        pending: list[Any] = []
        pending_rows = 0
        for batch in batches:
            # Microseconds always (the default is ns or us per result chunk; PostgreSQL keeps us).
            table = conform_table(batch.to_arrow(force_microsecond_precision=True), schema)
            if table.num_rows == 0:
                continue
            pending.append(table)
            pending_rows += table.num_rows
            while pending_rows >= batch_size:
                merged = pa.concat_tables(pending)
                yield merged.slice(0, batch_size)
                rest = merged.slice(batch_size)
                pending, pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
        if pending_rows:
            yield pa.concat_tables(pending)
    finally:
        cur.close()


def count_skipped_rows(
    sf_conn: Any, scope: SourceScope, ref: ReferenceData, *, session_ready: bool = False
) -> dict[str, int]:
    """Unusable source rows of the scope per reason (D23), and ignored values per note (keys
    `note:<name>`); every reason of SKIP_REASONS and every note of NOTES is present.

    `session_ready`: the caller has just read this scope's pairs with the same reference data on this
    connection, so its session tables (reference data, delta groups) are current and are not rebuilt.
    """
    if not session_ready:
        create_delta_groups(sf_conn, scope, ref)
    counts = dict.fromkeys((*SKIP_REASONS, *(NOTE_PREFIX + n for n in NOTES)), 0)
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(_DETECT_SQL.format("count_skipped_rows")), run_params(scope))
        for reason, n in cur.fetchall():
            counts[str(reason)] = int(n)
    finally:
        cur.close()
    return counts
