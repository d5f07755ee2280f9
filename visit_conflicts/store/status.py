"""PostgreSQL side of the status step: the 15 legacy units, the delta scope (D16) and Phase B's deleted
visit ids, each unit's statement in `sql/postgres/status/<unit>.sql`.

Every unit runs in its own transaction with a statement timeout; a unit that fails is rolled back and
reported with what to do. A unit that changes statuses records each change in the conflict history
(`conflict_event`) in the same statement (`record_events.sql`): a pair's change with its key, a parent
conflict's with its "CONFLICTID" only (its pairs have their own events when they change); the reason is
the unit's name, or 'deleted_visit' (detail: the unit) for Phase B.
Phase B and the delta scope start from small driving sets and reach the big
tables through their indexes (`_INDEX_DRIVEN`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql

FETCH_DELETED = "fetch_deleted_visit_ids"
STATEMENT_TIMEOUT = "1800s"

# The delta scope (D16) as a predicate on the alias the unit SQL uses for the pair (c) or the conflict
# (f) it restricts: the candidate pairs or conflicts on which the unit's flag of the scope tables is set
# (see scope_rows.sql / scope_flags.sql); the window scope restricts nothing beyond the units' own
# window filter.
_PAIR_CANDIDATES = 'EXISTS (SELECT 1 FROM _status_scope_row s WHERE s."ID" = c."ID" AND s.{flag})'
_PAIRS_OF_CANDIDATE_CONFLICTS = (
    'EXISTS (SELECT 1 FROM _status_scope_conflict s WHERE s."CONFLICTID" = c."CONFLICTID" AND s.{flag})'
)
_CONFLICT_CANDIDATES = (
    'EXISTS (SELECT 1 FROM _status_scope_conflict s WHERE s."CONFLICTID" = f."CONFLICTID" AND s.{flag})'
)

# Phase B and the delta scope start from small driving sets (deleted ids, candidate ids) and reach the
# big tables through their indexes: a few thousand index probes on hot pages. The planner, costing each
# random read as a disk seek, would rather read the whole table once per unit (seconds per unit at 1M
# rows, growing with the table, measured by bench/bench_status.py), so these units run with nested loops
# over index scans only. The window pass, which reads everything anyway, keeps the planner's defaults.
_INDEX_DRIVEN = (
    b"SET LOCAL random_page_cost = 1.1; SET LOCAL enable_seqscan = off; "
    b"SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
)

# Flags of _status_scope_conflict; every other flag is one of _status_scope_row.
_CONFLICT_FLAGS = frozenset({"unmarked", "has_update", "may_cascade", "may_resolve", "no_response"})


@dataclass(frozen=True)
class Unit:
    """One legacy status unit: its name (also the name of its SQL file), its phase, and the scope-table
    flag that marks the pairs or conflicts it can act on in the delta scope."""

    name: str
    phase: Literal["B", "A", "C"]
    candidates: str = ""
    # The statuses the unit changes ("pair": conflictvisitmaps, "conflict": conflicts; None: none) and
    # the alias of the updated table in its SQL: such a unit records its changes in conflict_event.
    changes: Literal["pair", "conflict"] | None = None
    alias: str = "c"

    @property
    def sql_file(self) -> str:
        return f"postgres/status/{self.name}.sql"

    def scope(self, delta: bool) -> dict[str, sql.Composable]:
        """The unit SQL's {row_scope} (on pairs c) and {conflict_scope} (on conflicts f) predicates."""
        if not delta:
            return {"row_scope": sql.SQL("TRUE"), "conflict_scope": sql.SQL("TRUE")}
        flag = self.candidates
        rows = _PAIRS_OF_CANDIDATE_CONFLICTS if flag in _CONFLICT_FLAGS else _PAIR_CANDIDATES
        return {
            "row_scope": sql.SQL(rows.format(flag=flag)),
            "conflict_scope": sql.SQL(_CONFLICT_CANDIDATES.format(flag=flag)),
        }


UNITS: tuple[Unit, ...] = (
    Unit(FETCH_DELETED, "B"),
    Unit("deleted_visits_cvm", "B", changes="pair", alias="t"),
    Unit("deleted_visits_cf", "B", changes="conflict", alias="f"),
    Unit("ismissed_cascade_cf", "A", candidates="missed", changes="conflict", alias="f"),
    Unit("ismissed_cascade_cvm", "A", candidates="missed", changes="pair"),
    Unit("updateflag_orphan_cleanup", "A", candidates="marked", changes="pair"),
    Unit("aggregation_mark_updatedrflag", "A", candidates="unmarked"),
    Unit("aggregation_status_u_propagation", "A", candidates="has_update", changes="conflict", alias="f"),
    Unit("cascade_resolve_cvm", "A", candidates="may_cascade", changes="pair"),
    Unit("cascade_resolve_cf", "A", candidates="may_resolve", changes="conflict", alias="f"),
    Unit("noresponse_flag_cf", "A", candidates="no_response", changes="conflict", alias="f"),
    Unit("noresponse_flag_cvm", "A", candidates="con_no_response", changes="pair"),
    Unit("computed_time_columns", "C", candidates="written"),
    Unit("computed_billed_rate", "C", candidates="written"),
    Unit("computed_reverse_uuid", "C", candidates="written"),
)
UNIT_NAMES = tuple(u.name for u in UNITS)


def _with_events(unit: Unit, statement: sql.Composed) -> sql.Composed:
    """The unit's statement wrapped so that it records its status changes (`record_events.sql`)."""
    a = sql.Identifier(unit.alias)
    if unit.changes == "pair":
        returning = sql.SQL(
            '{a}."ID", {a}."CONFLICTID", {a}."VisitID", {a}."ConVisitID", '
            '(SELECT o."StatusFlag" FROM conflictvisitmaps o WHERE o."ID" = {a}."ID") AS old_status, '
            '{a}."StatusFlag" AS new_status'
        ).format(a=a)
    else:
        returning = sql.SQL(
            'NULL::bigint AS "ID", {a}."CONFLICTID", NULL::uuid AS "VisitID", NULL::uuid AS "ConVisitID", '
            '(SELECT o."StatusFlag" FROM conflicts o WHERE o."CONFLICTID" = {a}."CONFLICTID") AS old_status, '
            '{a}."StatusFlag" AS new_status'
        ).format(a=a)
    deleted = unit.phase == "B"
    return sql.SQL(read_sql("postgres/status/record_events.sql")).format(
        update=statement,
        returning=returning,
        reason=sql.Literal("deleted_visit" if deleted else unit.name),
        detail=sql.Literal(unit.name) if deleted else sql.SQL("NULL"),
    )


def create_scope_tables(conn: psycopg.Connection) -> None:
    """The step's session tables, empty (a rerun starts clean)."""
    with conn.transaction():
        conn.execute(read_sql("postgres/status/create_scope_tables.sql").encode())


def drop_scope_tables(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(read_sql("postgres/status/drop_scope_tables.sql").encode())


def load_deleted_visit_ids(conn: psycopg.Connection, ids: Iterable[uuid.UUID]) -> None:
    """Phase B's driving set: the deleted visit ids, copied into their session table and analysed."""
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(read_sql("postgres/status/copy_deleted_visits.sql")) as copy:
            for value in ids:
                copy.write_row((value,))
        # Without statistics the planner assumes ~200 rows whatever the size and picks bad joins.
        cur.execute("ANALYZE _tmp_deleted_visits")


def pair_table_rows(conn: psycopg.Connection) -> int:
    """The planner's row count of conflictvisitmaps (0 before its first ANALYZE): a free estimate of the
    table's size, good enough to tell a night's delta from a bulk load."""
    with conn.transaction():
        row = conn.execute(
            "SELECT GREATEST(reltuples, 0)::int8 FROM pg_class WHERE oid = 'conflictvisitmaps'::regclass"
        ).fetchone()
    return int(row[0]) if row else 0


def build_delta_scope(
    conn: psycopg.Connection, bind: dict[str, Any], *, max_seed_rows: int | None = None
) -> dict[str, int] | None:
    """Fill the candidate pair and conflict ids of the delta scope (D16); returns their numbers.

    With `max_seed_rows`, returns None (and leaves the scope tables empty) when the seed pairs alone
    outnumber it: the caller then runs the window pass, which reads the table once instead of probing
    an index per candidate."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_INDEX_DRIVEN)
        cur.execute(read_sql("postgres/status/scope_seed_rows.sql").encode(), bind)
        if max_seed_rows is not None and cur.rowcount > max_seed_rows:
            cur.execute("TRUNCATE _status_scope_seed")
            return None
        for step in ("scope_conflicts", "scope_rows", "scope_flags"):
            cur.execute(read_sql(f"postgres/status/{step}.sql").encode(), bind)
        cur.execute("ANALYZE _status_scope_row")
        cur.execute("ANALYZE _status_scope_conflict")
        row = cur.execute(read_sql("postgres/status/count_scope.sql")).fetchone()
    assert row is not None
    return {"scope_rows": int(row[0]), "scope_conflicts": int(row[1])}


def run_unit(conn: psycopg.Connection, unit: Unit, bind: dict[str, Any], *, delta: bool) -> dict[str, int]:
    """Run one unit in its own transaction, restricted to the delta scope when `delta`; returns its rows
    affected (and any extra counts it reports). `bind` carries the run's values (`now`, the window, the
    cutoff) and, for the conflict history, `run_id` and `step`."""
    statement = sql.SQL(read_sql(unit.sql_file).rstrip()).format(**unit.scope(delta))
    if unit.changes is not None:
        statement = _with_events(unit, statement)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(STATEMENT_TIMEOUT)))
            if delta or unit.phase == "B":
                cur.execute(_INDEX_DRIVEN)
            cur.execute(statement, bind)
            result = {unit.name: max(cur.rowcount, 0)}
            if cur.description is not None:
                # A unit that returns a row reports its rows affected first, then named extra counts.
                row = cur.fetchone()
                names = [d.name for d in cur.description]
                if row is not None:
                    result = {unit.name: int(row[0])}
                    result.update({name: int(value) for name, value in zip(names[1:], row[1:], strict=True)})
    except psycopg.Error as exc:
        raise RuntimeError(
            f"status unit {unit.name} failed and was rolled back ({type(exc).__name__}: {exc}); "
            f"units before it are committed; rerun the status step"
        ) from exc
    return result
