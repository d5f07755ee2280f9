"""Set-based writes of detected pairs into `conflictvisitmaps` and `conflicts` (D9-D14).

Per batch, in one transaction: the batch is bulk-encoded (Arrow -> CSV, no per-value Python work) and
COPYed into a session temp table typed exactly like the CVM columns (so comparisons are after type
normalisation); then three statements: update the existing pairs whose written columns differ or that
are resolved (D11), insert the new pairs with their conflict ids and any new parent rows (D10), and
record the seen keys for stale cleanup in the ledger-side table. Unchanged pairs are not written.
Every count comes from the database (D13). Re-running a batch converges to the same state: the
second pass finds everything present and unchanged.

A writer handles one `PairKind`: regular pairs (detect, no InService/PTO window) or InService pairs
(D14, an InService window on one side). The kind decides which existing rows the writer may update and
the `InServiceFlag` it stamps on insert; everything else (conflict ids, change detection, seen keys) is
the same mechanism for both.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeAlias

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

from visit_conflicts.columns import FLAG_COLUMNS, INSERVICE_PTO_COLUMNS
from visit_conflicts.paths import read_sql

KEY_COLUMNS = ("VisitID", "ConVisitID")
# Filled by users or other processes; a NULL from the source must not erase them (D11).
KEEP_WHEN_NULL = ("AgencyContact", "ConAgencyContact")
# Never written by detection even if a source query were to produce them (D11: preserved on update).
NEVER_WRITTEN = frozenset(
    {
        "ID",
        "CONFLICTID",
        "CreatedDate",
        "StatusFlag",
        "ResolveDate",
        "ResolvedBy",
        "UpdatedDate",
        "UpdateFlag",
    }
)
# A batch of pairs: Python rows in the writer's column order, or Arrow data with those column names.
PairRows: TypeAlias = Sequence[Sequence[Any]] | pa.Table | pa.RecordBatch

INCOMING = "_incoming_pairs"
NEW_PAIRS = "_new_pairs"


def regular_pair(alias: str) -> sql.Composable:
    """SQL condition: the row under `alias` is a regular pair (no InService/PTO window)."""
    return sql.SQL(" AND ").join(
        sql.SQL("{} IS NULL").format(sql.Identifier(alias, c)) for c in INSERVICE_PTO_COLUMNS
    )


def inservice_pair(alias: str) -> sql.Composable:
    """SQL condition: the row under `alias` is an InService pair (D14: the event side has its window).

    Written exactly as the predicate of idx_cvm_inservice_visitdate_ssn, so the planner can use it.
    """
    return sql.SQL("({} IS NOT NULL OR {} IS NOT NULL)").format(
        sql.Identifier(alias, "InserviceStartDate"), sql.Identifier(alias, "ConInserviceStartDate")
    )


@dataclass(frozen=True)
class PairKind:
    """Which CVM rows a writer owns (may update) and the `InServiceFlag` its inserts carry."""

    name: str
    owns: Callable[[str], sql.Composable]
    in_service_flag: str
    # Columns a batch must carry so that the rows it inserts are recognised as this kind later.
    required_columns: tuple[str, ...] = ()
    # D10 for stored rows: give re-detected rows without a CONFLICTID one (legacy InService updates
    # nulled it, other-actions.md I.1).
    assigns_missing_conflict_ids: bool = False


REGULAR = PairKind("regular", regular_pair, "N")
INSERVICE = PairKind(
    "inservice",
    inservice_pair,
    "Y",
    required_columns=("InserviceStartDate", "ConInserviceStartDate"),
    assigns_missing_conflict_ids=True,
)


@dataclass
class MergeCounts:
    """Measured outcome of merging pairs (D13)."""

    pairs_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    reopened: int = 0
    new_conflicts: int = 0
    duplicates_dropped: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def _counters(self) -> list[str]:
        return [f.name for f in fields(self) if f.name != "extra"]

    def add(self, other: MergeCounts) -> None:
        for name in self._counters():
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, value in other.extra.items():
            self.extra[key] = self.extra.get(key, 0) + value

    def as_dict(self) -> dict[str, int]:
        """The counters (without `extra`), in declaration order."""
        return {name: getattr(self, name) for name in self._counters()}


def _ident_list(columns: Sequence[str], alias: str | None = None) -> sql.Composable:
    if alias is None:
        return sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    return sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns)


class PairWriter:
    """Writes batches of pairs (rows in `columns` order) for one run and chunk on one connection."""

    def __init__(
        self,
        conn: psycopg.Connection,
        columns: Sequence[str],
        *,
        run_id: str,
        chunk: int,
        insert_enabled: bool = True,
        kind: PairKind = REGULAR,
    ) -> None:
        missing = [k for k in (*KEY_COLUMNS, *kind.required_columns) if k not in columns]
        if missing:
            raise ValueError(f"{kind.name} pair columns lack the column(s) {missing}")
        forbidden = sorted(NEVER_WRITTEN.intersection(columns))
        if forbidden:
            raise ValueError(f"pair columns must not include pipeline-owned columns {forbidden}")
        self.conn = conn
        self.columns = tuple(columns)
        self.run_id = run_id
        self.chunk = chunk
        self.insert_enabled = insert_enabled
        self.kind = kind
        self._arrow_types: list[pa.DataType] | None = None
        self._prepare()

    # -- setup -----------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        cols = _ident_list(self.columns)
        with self.conn.transaction():
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(INCOMING)))
            # Typed exactly like the CVM columns: COPY parses into the target types, so the compare
            # below is between normalised values (D11).
            self.conn.execute(
                sql.SQL("CREATE TEMP TABLE {} AS SELECT {} FROM conflictvisitmaps WITH NO DATA").format(
                    sql.Identifier(INCOMING), cols
                )
            )
            self.conn.execute(
                sql.SQL('CREATE INDEX ON {} ("VisitID", "ConVisitID")').format(sql.Identifier(INCOMING))
            )
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(NEW_PAIRS)))
            self.conn.execute(
                sql.SQL(
                    'CREATE TEMP TABLE {} ("VisitID" uuid NOT NULL, "ConVisitID" uuid NOT NULL,'
                    " conflict_id int8, first_created timestamp)"
                ).format(sql.Identifier(NEW_PAIRS))
            )
            # Integer columns that may receive fractions (ETATravelMinutes arrives with 2 decimals): the
            # legacy write relied on PostgreSQL's assignment cast, which CSV COPY does not apply.
            self._integer_columns = {
                r[0]
                for r in self.conn.execute(
                    """SELECT attname FROM pg_attribute
                       WHERE attrelid = %s::regclass AND attnum > 0
                         AND atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)""",
                    (f"pg_temp.{INCOMING}",),
                ).fetchall()
            }
        self._update_sql = self._build_update()
        self._insert_sql = self._build_insert()
        self._assign_sql: sql.Composed | None = None
        if self.kind.assigns_missing_conflict_ids:
            self._assign_sql = sql.SQL(read_sql("postgres/detect/assign_missing_conflict_ids.sql")).format(
                incoming=sql.Identifier(INCOMING), owned=self.kind.owns("t")
            )
        self._seen_sql = sql.SQL(read_sql("postgres/detect/record_seen_pairs.sql")).format(
            incoming=sql.Identifier(INCOMING)
        )

    def _build_update(self) -> sql.Composed:
        written = [c for c in self.columns if c not in KEY_COLUMNS]
        changed_terms = []
        set_terms = []
        for c in written:
            ident = sql.Identifier(c)
            if c in FLAG_COLUMNS:
                # D11: a rule flag only moves N -> Y, never back.
                new_value = sql.SQL("CASE WHEN t.{c} = 'Y' THEN 'Y' ELSE s.{c} END").format(c=ident)
            elif c in KEEP_WHEN_NULL:
                new_value = sql.SQL("COALESCE(s.{c}, t.{c})").format(c=ident)
            else:
                new_value = sql.SQL("s.{c}").format(c=ident)
            set_terms.append(sql.SQL("{c} = {v}").format(c=ident, v=new_value))
            changed_terms.append(sql.SQL("t.{c} IS DISTINCT FROM {v}").format(c=ident, v=new_value))
        template = read_sql("postgres/detect/update_changed_pairs.sql")
        return sql.SQL(template).format(
            incoming=sql.Identifier(INCOMING),
            owned=self.kind.owns("t"),
            changed=sql.SQL(" OR ").join(changed_terms),
            set_list=sql.SQL(",\n    ").join(set_terms),
        )

    def _build_insert(self) -> list[sql.Composed]:
        """The D10 statements, in order: mark new pairs, inherit conflict ids, create parents, insert."""
        names = {"incoming": sql.Identifier(INCOMING), "new_pairs": sql.Identifier(NEW_PAIRS)}
        statements = []
        for name in ("mark_new_pairs", "inherit_conflict_ids", "create_new_conflicts"):
            statements.append(sql.SQL(read_sql(f"postgres/detect/{name}.sql")).format(**names))
        statements.append(
            sql.SQL(read_sql("postgres/detect/insert_new_pairs.sql")).format(
                **names,
                columns=_ident_list(self.columns),
                n_columns=_ident_list(self.columns, "n"),
                in_service_flag=sql.Literal(self.kind.in_service_flag),
            )
        )
        return statements

    # -- encoding --------------------------------------------------------------------------------------

    def _arrow_table(self, rows: PairRows) -> pa.Table:
        """The batch as an Arrow table in `self.columns` order (Arrow input is used as it comes)."""
        if isinstance(rows, pa.RecordBatch):
            rows = pa.Table.from_batches([rows])
        if isinstance(rows, pa.Table):
            missing = [c for c in self.columns if c not in rows.column_names]
            if missing:
                raise ValueError(f"pair batch lacks column(s) {missing}")
            return rows.select(list(self.columns))
        arrays = [pa.array([r[i] for r in rows], from_pandas=False) for i in range(len(self.columns))]
        return pa.Table.from_arrays(arrays, names=list(self.columns))

    def _csv_payload(self, rows: PairRows) -> bytes:
        """Bulk-encode the batch with Arrow's CSV writer (no per-value Python work for Arrow input)."""
        table = self._arrow_table(rows)
        for i, column in enumerate(self.columns):
            array = table.column(i)
            if column in self._integer_columns and (
                pa.types.is_floating(array.type) or pa.types.is_decimal(array.type)
            ):
                # Same result as PostgreSQL's numeric -> integer assignment cast (half away from zero).
                rounded = pc.cast(pc.round(array, 0, round_mode="half_towards_infinity"), pa.int64())
                table = table.set_column(i, column, rounded)
        buf = io.BytesIO()
        pacsv.write_csv(
            table, buf, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed")
        )
        return buf.getvalue()

    # -- the merge -------------------------------------------------------------------------------------

    def _insert_new(self, cur: psycopg.Cursor[Any], now: datetime) -> tuple[int, int]:
        """D10 insert; returns (pairs inserted, parent conflicts created)."""
        mark, inherit, create, insert = self._insert_sql
        cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(NEW_PAIRS)))
        cur.execute(mark)
        if cur.rowcount == 0:
            return 0, 0
        cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(NEW_PAIRS)))
        cur.execute(inherit)
        cur.execute(create, {"now": now})
        row = cur.fetchone()
        assert row is not None
        parents = int(row[0])
        cur.execute(insert, {"now": now})
        return max(cur.rowcount, 0), parents

    def write_batch(self, rows: PairRows, *, now: datetime) -> MergeCounts:
        """Merge one batch (tuples in `columns` order, or an Arrow table/record batch with those columns)."""
        n_rows = rows.num_rows if isinstance(rows, pa.Table | pa.RecordBatch) else len(rows)
        counts = MergeCounts(pairs_read=n_rows)
        if n_rows == 0:
            return counts
        payload = self._csv_payload(rows)
        incoming = sql.Identifier(INCOMING)
        with self.conn.transaction():
            self.conn.execute(sql.SQL("TRUNCATE {}").format(incoming))
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
                incoming, _ident_list(self.columns)
            )
            with self.conn.cursor() as cur:
                with cur.copy(copy_sql) as copy:
                    copy.write(payload)
                # D8 guard: one row per pair key. The source query guarantees it; a duplicate would
                # otherwise abort the insert on the unique index.
                cur.execute(read_sql("postgres/detect/drop_duplicate_keys.sql").encode())
                counts.duplicates_dropped = max(cur.rowcount, 0)
                # Statistics on the key columns only: cheap, and enough for index lookups.
                cur.execute(sql.SQL('ANALYZE {} ("VisitID", "ConVisitID")').format(incoming))
                cur.execute(self._update_sql, {"now": now})
                old_statuses = [r[0] for r in cur.fetchall()]
                counts.updated = len(old_statuses)
                counts.reopened = sum(1 for s in old_statuses if s == "R")
                if self.insert_enabled:
                    counts.inserted, counts.new_conflicts = self._insert_new(cur, now)
                if self._assign_sql is not None:
                    cur.execute(self._assign_sql, {"now": now})
                    row = cur.fetchone()
                    assert row is not None
                    counts.extra["conflict_ids_assigned"] = int(row[0])
                    counts.new_conflicts += int(row[1])
                cur.execute(self._seen_sql, {"run_id": self.run_id, "chunk": self.chunk})
        counts.unchanged = counts.pairs_read - counts.duplicates_dropped - counts.updated - counts.inserted
        if not self.insert_enabled:
            counts.extra["not_inserted"] = counts.unchanged
        return counts


def forget_seen_pairs(conn: psycopg.Connection, run_id: str, chunk: int) -> None:
    """A rerun of a chunk starts from an empty seen set for that chunk."""
    conn.execute("DELETE FROM run_seen_pair WHERE run_id = %s AND chunk = %s", (run_id, chunk))
