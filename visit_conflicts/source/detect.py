"""Snowflake side of the detect step: the conflict pairs of one chunk of the run's delta scope.

Snowflake (or its emulation) does the relational work next to the data, so only conflict pairs leave
it. On one connection (session tables are private to it; one connection per thread):

1. the reference data, and the chunk's delta groups as plan stored them (`load_delta_groups`; a run
   without plan has the chunk's groups computed here instead, `source.plan.create_delta_groups`), go
   into session tables;
2. the groups' source rows are found with cheap predicates (`common.create_scope_rows`: bound date
   ranges, an equi-join on the raw caregiver id, raw day bounds), so the checks below run on those
   rows only;
3. one query (`sql/snowflake/detect/select_conflict_pairs.sql`) takes the usable visits among those rows
   with their dimension rows, pairs every two visits of a group at different providers in both
   orientations (D4), evaluates rules 1-7 (D5-D7), keeps pairs with a 'Y' flag that pass the
   cross-state filter, one row per pair key (D8) -> `iter_pair_tables`, Arrow batches of one fixed
   schema (`common.pair_arrow_schema`), whatever widths and units the result chunks come in.

The query binds run-level values only (the chunk is in the session tables), so every chunk of a run
sends the same text. Unusable source rows are counted once per run by plan (`source.plan`, D23).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from visit_conflicts.source.common import (
    GROUP_LOAD_BATCH,
    SourceScope,
    check_batch_size,
    check_paramstyle,
    create_scope_rows,
    load_reference_data,
    pair_query,
    run_params,
    stream_tables,
)
from visit_conflicts.sql_files import read_sql

if TYPE_CHECKING:
    from visit_conflicts.store.reference import ReferenceData

_DETECT_SQL = "snowflake/detect/{}.sql"

Group = tuple[date, str]


def load_delta_groups(
    sf_conn: Any, scope: SourceScope, ref: ReferenceData, groups: Iterable[Group]
) -> list[date]:
    """(Re)build the session tables of a chunk from its stored groups (visit date, SSN): the reference
    data, `VC_DELTA_GROUP` and the groups' source rows (`common.create_scope_rows`). Returns the groups'
    distinct visit dates."""
    if scope.chunk is None:
        raise ValueError("detect loads the groups of one chunk; the scope has no chunk")
    check_paramstyle(sf_conn)
    cur = sf_conn.cursor()
    days: set[date] = set()
    try:
        load_reference_data(cur, ref)
        cur.execute(read_sql(_DETECT_SQL.format("create_delta_group")))
        insert = read_sql(_DETECT_SQL.format("insert_delta_group"))
        batch: list[list[str]] = []
        for visit_date, ssn in groups:
            days.add(visit_date)
            batch.append([visit_date.isoformat(), ssn])
            if len(batch) == GROUP_LOAD_BATCH:
                cur.execute(insert, {"values": json.dumps(batch), "chunk": scope.chunk})
                batch = []
        if batch:
            cur.execute(insert, {"values": json.dumps(batch), "chunk": scope.chunk})
        create_scope_rows(cur, scope, days)
    finally:
        cur.close()
    return sorted(days)


def prepare_scope_rows(sf_conn: Any, scope: SourceScope, days: Sequence[date]) -> None:
    """The groups' source rows for a session whose `VC_DELTA_GROUP` (business days `days`) was built
    by plan's statement (a run without plan)."""
    cur = sf_conn.cursor()
    try:
        create_scope_rows(cur, scope, days)
    finally:
        cur.close()


def iter_pair_tables(sf_conn: Any, scope: SourceScope, batch_size: int, schema: Any) -> Iterator[Any]:
    """The conflict pairs of the session's scope rows (`load_delta_groups` or `prepare_scope_rows` ran
    on this connection), as Arrow tables of at most `batch_size` rows with exactly `schema`
    (`common.pair_arrow_schema` of the pair columns), each ordered pair key once (D8), whatever widths
    and units the result chunks come in (`common.stream_tables`). A schema ending with `PairFingerprint`
    has the query compute each pair's fingerprint (`common.with_fingerprint`). The writer encodes them
    for COPY in bulk."""
    check_batch_size(batch_size)
    cur = sf_conn.cursor()
    try:
        query = pair_query(read_sql(_DETECT_SQL.format("select_conflict_pairs")), schema)
        cur.execute(query, run_params(scope))
        yield from stream_tables(cur, batch_size, schema)
    finally:
        cur.close()
