"""PostgreSQL side of the detect step: set-based writes of pairs into `conflictvisitmaps` and `conflicts`
(D8-D14). The inservice step writes its pairs through the same writer (`INSERVICE` kind).

Per batch, in one transaction, with only the rows that must travel:

1. Each row has a fingerprint of its written columns. The pipeline's pair queries compute it where the
   pairs are produced (Snowflake's HASH, `source.common.with_fingerprint`: a `PairFingerprint` column
   of the Arrow batch); then only the keys are converted here and duplicate keys dropped (D8 guard),
   and the other columns wait for the probe. A batch without it (Python rows, Arrow data without the
   column) is converted whole to the CVM column types (`arrow_copy`), and the client computes the
   fingerprint of the converted values (`store/fingerprint.py`).
2. Its keys and fingerprints alone (two uuids and a bigint per row) go by binary COPY into a small temp
   table, and one statement marks the keys that are already stored (through the unique index), whether
   the writer owns them, and whether the stored fingerprint is the incoming one on an open pair: those
   pairs are certainly unchanged and go no further (they are never converted nor sent in full). Of a
   batch with the source's fingerprint, only the rows that go on (compared, new) are converted now,
   and a pair with a text too long for its column leaves the batch here (D23).
3. The other stored pairs of the writer's kind (changed, resolved, or stored without a fingerprint)
   travel in full into a temp table typed like the CVM columns; one UPDATE writes those whose written
   columns differ or that are resolved (D11, compared in SQL after type normalisation: the SQL compare
   decides, the fingerprint only filters), and every compared pair gets the incoming fingerprint.
   With `compare="full"` every stored pair of the writer's kind takes this path (repair, and the
   equality proof of the two paths).
4. New pairs get their conflict ids (D10: the CONFLICTID of a stored row of the same VisitID, else a new
   parent `conflicts` row) from two statements over their keys, then go by binary COPY straight into
   `conflictvisitmaps`: they are sent once and never staged.
5. The keys are recorded in the ledger-side seen set for stale cleanup (D12).

Given the run's window, the writer also sets Phase C's computed columns (effective times, billed rate per
minute, ReverseUUID) on the rows of steps 3 and 4, in the same write (`store.computed`), so the status
step does not write those rows three times more.

The conflict history (`conflict_event`, migration 0035) is written by the same statements, in the same
transaction: the UPDATE of step 3 feeds its events through a data-modifying CTE ('changed', 'reopened';
a metadata-only refresh writes none), the new parents of step 4 theirs ('insert', detail 'conflict'),
and the COPY of new pairs is followed by one INSERT ... SELECT of their keys ('insert', detail: the
rule flags). A batch that fails leaves no event; an unchanged pair writes none.

A batch is normally its own transaction. Inside a caller's transaction (a dry run, whose one transaction
is rolled back at the end, `store.db.SharedTransaction`) it is a savepoint, and the session tables,
which then do not empty at commit, are emptied first.

Every count comes from the database or from the rows actually sent (D13). Re-running a batch converges
to the same state: the second pass finds everything stored and unchanged.

A writer handles one `PairKind`: regular pairs (detect, no InService/PTO window) or InService pairs
(D14, an InService window on one side). The kind decides which stored rows the writer may update and
the `InServiceFlag` it stamps on insert; everything else (conflict ids, change detection, seen keys) is
the same mechanism for both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from visit_conflicts.columns import FLAG_COLUMNS, INSERVICE_PTO_COLUMNS
from visit_conflicts.prefetch import prefetch
from visit_conflicts.sql_files import read_sql
from visit_conflicts.store import computed
from visit_conflicts.store.arrow_copy import (
    ArrowCopy,
    column_types,
    convert_column,
    too_long,
    varchar_lengths,
)
from visit_conflicts.store.db import is_shared_transaction
from visit_conflicts.store.fingerprint import FINGERPRINT_COLUMN, fingerprints, signed64

KEY_COLUMNS = ("VisitID", "ConVisitID")
# D11 amended: differences in these alone refresh them without moving the status (a touched visit).
METADATA_COLUMNS = frozenset({"LastUpdatedDate", "LastUpdatedBy", "ConLastUpdatedDate", "ConLastUpdatedBy"})
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
# How stored pairs are compared: probe the fingerprint first, or compare every stored pair in SQL.
MergeCompare: TypeAlias = Literal["fingerprint", "full"]

INCOMING = "_incoming_pairs"
NEW_PAIRS = "_new_pairs"
BATCH_KEYS = "_batch_keys"
# Columns a new pair gets from the writer rather than from the source (D10, D14).
INSERT_COLUMNS = ("CONFLICTID", "StatusFlag", "InServiceFlag", "PTOFlag", "CreatedDate", "CRDATEUNIQUE")


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
    # nulled it).
    assigns_missing_conflict_ids: bool = False
    # The step the conflict history records for this writer's events.
    step: str = "detect"


REGULAR = PairKind("regular", regular_pair, "N")
INSERVICE = PairKind(
    "inservice",
    inservice_pair,
    "Y",
    required_columns=("InserviceStartDate", "ConInserviceStartDate"),
    assigns_missing_conflict_ids=True,
    step="inservice",
)


@dataclass
class MergeCounts:
    """Measured outcome of merging pairs (D13)."""

    pairs_read: int = 0
    inserted: int = 0
    updated: int = 0
    refreshed: int = 0  # D11 amended: only the metadata columns changed; the status did not move
    unchanged: int = 0
    reopened: int = 0
    new_conflicts: int = 0
    duplicates_dropped: int = 0
    skipped_oversized_text: int = 0  # D23: a text longer than its column allows
    # Unchanged pairs recognised by their fingerprint alone (never sent in full).
    fingerprint_matched: int = 0
    # Compared pairs whose fingerprint was recorded without a change of their columns (stored before
    # the fingerprint existed, or whose stored values differ from the incoming ones under D11's rules).
    fingerprints_recorded: int = 0
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


def pair_fingerprints(batch: pa.Table, columns: Sequence[str]) -> pa.Array:
    """The fingerprint a writer over `columns` records for each row of `batch` (converted to the CVM
    column types): over the written columns, the key excluded (the probe compares it anyway)."""
    return fingerprints(batch, [c for c in columns if c not in KEY_COLUMNS])


def _ident_list(columns: Sequence[str], alias: str | None = None) -> sql.Composable:
    if alias is None:
        return sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    return sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns)


@dataclass(frozen=True)
class PreparedBatch:
    """A batch converted to the CVM column types with duplicate keys dropped and the fingerprint of each
    row as a last column, and what the probe sends of it (`keys`: rn, VisitID, ConVisitID, fingerprint,
    kept_null) (`PairWriter.prepare`)."""

    rows_read: int
    batch: pa.Table
    keys: pa.Table | None = None
    # D23: pairs dropped because a text is longer than its column allows (a value that cannot be stored
    # whole; no partial pair is written).
    oversized: int = 0
    # The batch came with the source's fingerprint: `batch` is still in its source form (keys converted
    # only), and only the rows the probe does not settle are converted and checked (`_settle_rows`).
    deferred: bool = False


class PairWriter:
    """Writes batches of pairs (rows in `columns` order, or Arrow data) for one run and chunk."""

    def __init__(
        self,
        conn: psycopg.Connection,
        columns: Sequence[str],
        *,
        run_id: str,
        chunk: int,
        insert_enabled: bool = True,
        kind: PairKind = REGULAR,
        compare: MergeCompare = "fingerprint",
        window: tuple[date, date] | None = None,
    ) -> None:
        missing = [k for k in (*KEY_COLUMNS, *kind.required_columns) if k not in columns]
        if missing:
            raise ValueError(f"{kind.name} pair columns lack the column(s) {missing}")
        forbidden = sorted(NEVER_WRITTEN.union({FINGERPRINT_COLUMN}).intersection(columns))
        if forbidden:
            raise ValueError(f"pair columns must not include pipeline-owned columns {forbidden}")
        if window is not None and set(computed.COMPUTED_COLUMNS).intersection(columns):
            raise ValueError(
                "pair columns must not include the computed columns when the writer computes them"
            )
        self.conn = conn
        self.columns = tuple(columns)
        self.run_id = run_id
        self.chunk = chunk
        self.insert_enabled = insert_enabled
        self.kind = kind
        self.compare = compare
        # The run's window (D1): with it, the writer sets Phase C's computed columns on the rows it writes
        # (`store.computed`); without it, Phase C alone computes them.
        self.window = window
        self._kept = tuple(c for c in KEEP_WHEN_NULL if c in self.columns)
        self._keys_analyzed = 0  # batch size the key table's statistics were gathered at
        self._create_session_tables()

    # -- setup -----------------------------------------------------------------------------------------

    def _create_session_tables(self) -> None:
        """The session temp tables of the merge and the statements over them (once per writer). They
        empty themselves at every commit (ON COMMIT DELETE ROWS: cheaper than a TRUNCATE per batch), so
        each batch is its own transaction (`write_prepared`)."""
        cols = _ident_list((*self.columns, FINGERPRINT_COLUMN))
        with self.conn.transaction():
            for name in (INCOMING, NEW_PAIRS, BATCH_KEYS):
                self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
            # Typed exactly like the CVM columns, so the compare below is between normalised values (D11).
            self.conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE {} ON COMMIT DELETE ROWS"
                    " AS SELECT {} FROM conflictvisitmaps WITH NO DATA"
                ).format(sql.Identifier(INCOMING), cols)
            )
            self.conn.execute(
                sql.SQL('CREATE INDEX ON {} ("VisitID", "ConVisitID")').format(sql.Identifier(INCOMING))
            )
            # The keys, the fingerprint, and whether the columns users may fill arrive NULL (D11 keeps the
            # stored values then; a value from the source is compared in full).
            self.conn.execute(
                sql.SQL(
                    'CREATE TEMP TABLE {} (rn int4 NOT NULL, "VisitID" uuid NOT NULL,'
                    ' "ConVisitID" uuid NOT NULL, fingerprint int8 NOT NULL, kept_null bool NOT NULL,'
                    " stored bool NOT NULL DEFAULT false) ON COMMIT DELETE ROWS"
                ).format(sql.Identifier(BATCH_KEYS))
            )
            self.conn.execute(
                sql.SQL(
                    'CREATE TEMP TABLE {} (rn int4 NOT NULL, "VisitID" uuid NOT NULL,'
                    ' "ConVisitID" uuid NOT NULL, conflict_id int8, first_created timestamp)'
                    " ON COMMIT DELETE ROWS"
                ).format(sql.Identifier(NEW_PAIRS))
            )
            inserted = (*self.columns, FINGERPRINT_COLUMN, *INSERT_COLUMNS)
            if self.window is not None:
                inserted += computed.COMPUTED_COLUMNS
            cvm_types = column_types(self.conn, "conflictvisitmaps", inserted)
            self._max_lengths = varchar_lengths(self.conn, "conflictvisitmaps", self.columns)
        self._written = ArrowCopy(sql.Identifier(INCOMING), {c: cvm_types[c] for c in self.columns})
        self._incoming = ArrowCopy(
            sql.Identifier(INCOMING), {c: cvm_types[c] for c in (*self.columns, FINGERPRINT_COLUMN)}
        )
        self._keys = ArrowCopy(
            sql.Identifier(BATCH_KEYS),
            {
                "rn": "int4",
                "VisitID": "uuid",
                "ConVisitID": "uuid",
                "fingerprint": "int8",
                "kept_null": "bool",
            },
        )
        self._insert = ArrowCopy(sql.Identifier("conflictvisitmaps"), cvm_types)
        self._update_sql = self._build_update()
        names = {
            "incoming": sql.Identifier(INCOMING),
            "new_pairs": sql.Identifier(NEW_PAIRS),
            "batch_keys": sql.Identifier(BATCH_KEYS),
            "owned": self.kind.owns("t"),
        }
        (
            self._probe_sql,
            self._mark_sql,
            self._inherit_sql,
            self._create_sql,
            self._seen_sql,
            self._fingerprint_sql,
        ) = (
            sql.SQL(read_sql(f"postgres/detect/{name}.sql")).format(**names)
            for name in (
                "probe_batch_keys",
                "mark_new_pairs",
                "inherit_conflict_ids",
                "create_new_conflicts",
                "record_seen_pairs",
                "record_fingerprints",
            )
        )
        self._record_inserted_sql = sql.SQL(read_sql("postgres/detect/record_inserted_pairs.sql")).format(
            new_pairs=sql.Identifier(NEW_PAIRS), detail=self._insert_detail()
        )
        self._assign_sql: sql.Composed | None = None
        if self.kind.assigns_missing_conflict_ids:
            self._assign_sql = sql.SQL(read_sql("postgres/detect/assign_missing_conflict_ids.sql")).format(
                **names
            )

    def _insert_detail(self) -> sql.Composable:
        """The `detail` of an insert event: the rule flags set on the stored row ('Y'), comma-separated,
        or 'InService' for the InService writer (its rule flags are all 'N', D14)."""
        if self.kind is INSERVICE:
            return sql.Literal("InService")
        flags = [c for c in FLAG_COLUMNS if c in self.columns]
        if not flags:
            return sql.SQL("NULL")
        return sql.SQL("NULLIF(concat_ws(',', {}), '')").format(
            sql.SQL(", ").join(
                sql.SQL("CASE WHEN t.{c} = 'Y' THEN {name} END").format(
                    c=sql.Identifier(c), name=sql.Literal(c)
                )
                for c in flags
            )
        )

    def _events(self, now: datetime) -> dict[str, Any]:
        """The bind values of the statements that write conflict history."""
        bind: dict[str, Any] = {"now": now, "run_id": self.run_id, "step": self.kind.step}
        if self.window is not None:
            bind.update(window_start=self.window[0], window_end=self.window[1])
        return bind

    def _build_update(self) -> sql.Composed:
        written = [c for c in self.columns if c not in KEY_COLUMNS]

        def new_value(c: str, stored: str) -> sql.Composable:
            """The value column `c` takes when the row under alias `stored` is updated."""
            ident, t = sql.Identifier(c), sql.Identifier(stored)
            if c in FLAG_COLUMNS:
                # D11: a rule flag only moves N -> Y, never back.
                return sql.SQL("CASE WHEN {t}.{c} = 'Y' THEN 'Y' ELSE s.{c} END").format(t=t, c=ident)
            if c in KEEP_WHEN_NULL:
                return sql.SQL("COALESCE(s.{c}, {t}.{c})").format(t=t, c=ident)
            return sql.SQL("s.{c}").format(c=ident)

        def differs(columns: list[str], stored: str) -> sql.Composable:
            terms = [
                sql.SQL("{t}.{c} IS DISTINCT FROM {v}").format(
                    t=sql.Identifier(stored), c=sql.Identifier(c), v=new_value(c, stored)
                )
                for c in columns
            ]
            return sql.SQL(" OR ").join(terms) if terms else sql.SQL("FALSE")

        def taken(c: str) -> sql.Composable:
            """The value of `c` after the update (a column the writer does not write keeps its own)."""
            return new_value(c, "t") if c in written else sql.SQL("t.{}").format(sql.Identifier(c))

        computed_terms = computed.sql_set_terms(taken, "t") if self.window is not None else []
        business = [c for c in written if c not in METADATA_COLUMNS]
        template = read_sql("postgres/detect/update_changed_pairs.sql")
        return sql.SQL(template).format(
            incoming=sql.Identifier(INCOMING),
            owned=self.kind.owns("t"),
            changed=differs(written, "t"),
            business_changed=differs(business, "t"),
            # RETURNING sees the updated row under `t`: the comparison uses the row before (`o`).
            business_changed_before=differs(business, "o"),
            # A written row carries the fingerprint of the row it was written from (never compared).
            set_list=sql.SQL(",\n    ").join(
                [
                    *(sql.SQL("{c} = {v}").format(c=sql.Identifier(c), v=new_value(c, "t")) for c in written),
                    sql.SQL("{c} = s.{c}").format(c=sql.Identifier(FINGERPRINT_COLUMN)),
                    *computed_terms,
                ]
            ),
        )

    @property
    def column_types(self) -> dict[str, str]:
        """conflictvisitmaps type name of each written column, in the writer's column order."""
        return dict(self._written.types)

    # -- conversion ------------------------------------------------------------------------------------

    def _arrow_table(self, rows: PairRows) -> pa.Table:
        """The batch as an Arrow table with the writer's columns (Arrow input is used as it comes)."""
        if isinstance(rows, pa.RecordBatch):
            rows = pa.Table.from_batches([rows])
        if isinstance(rows, pa.Table):
            return rows
        arrays = [pa.array([r[i] for r in rows], from_pandas=False) for i in range(len(self.columns))]
        return pa.Table.from_arrays(arrays, names=list(self.columns))

    @staticmethod
    def _first_of_each_key(batch: pa.Table) -> pa.Array | None:
        """D8 guard: the rows to keep for one row per (VisitID, ConVisitID), the first of the batch, or
        None when every key is unique. The source query guarantees it; a duplicate would otherwise abort
        the insert on the unique index."""
        rn = pa.array(np.arange(batch.num_rows, dtype=np.int32))
        firsts = (
            pa.table({"v": batch.column("VisitID"), "c": batch.column("ConVisitID"), "rn": rn})
            .group_by(["v", "c"], use_threads=False)
            .aggregate([("rn", "min")])
            .column("rn_min")
        )
        if len(firsts) == batch.num_rows:
            return None
        return pa.array(np.sort(firsts.to_numpy()))

    # -- the merge -------------------------------------------------------------------------------------

    def _update_stored(
        self, cur: psycopg.Cursor[Any], batch: pa.Table, now: datetime, counts: MergeCounts
    ) -> None:
        """D11 for the stored pairs of this writer's kind (all of `batch`), then D10 for orphans."""
        incoming = sql.Identifier(INCOMING)
        self._incoming.copy(cur, batch)
        # Statistics on the key columns only: cheap, and enough for index lookups.
        cur.execute(sql.SQL('ANALYZE {} ("VisitID", "ConVisitID")').format(incoming))
        cur.execute(self._update_sql, self._events(now))
        updated = cur.fetchall()
        counts.updated = sum(1 for _, business in updated if business)
        counts.refreshed = len(updated) - counts.updated
        counts.reopened = sum(1 for old, _ in updated if old == "R")
        counts.fingerprints_recorded = cur.execute(self._fingerprint_sql).rowcount
        if self._assign_sql is not None:
            cur.execute(self._assign_sql, self._events(now))
            row = cur.fetchone()
            assert row is not None
            counts.extra["conflict_ids_assigned"] = int(row[0])
            counts.new_conflicts += int(row[1])

    def _insert_new(
        self,
        cur: psycopg.Cursor[Any],
        rows_of: Callable[[pa.Array], pa.Table],
        now: datetime,
        counts: MergeCounts,
    ) -> None:
        """D10: conflict ids for the new pairs (the keys the probe did not find), then one COPY into the
        CVM of their rows (`rows_of`: the converted rows of given batch row numbers)."""
        new_pairs = sql.Identifier(NEW_PAIRS)
        cur.execute(self._mark_sql)
        cur.execute(sql.SQL("ANALYZE {}").format(new_pairs))
        cur.execute(self._inherit_sql)
        cur.execute(self._create_sql, self._events(now))
        row = cur.fetchone()
        assert row is not None
        counts.new_conflicts += int(row[0])
        ids = cur.execute(
            sql.SQL("SELECT rn, conflict_id, first_created FROM {} ORDER BY rn").format(new_pairs)
        )
        assigned = ids.fetchall()
        if any(r[1] is None for r in assigned):
            raise RuntimeError("conflict ids were not assigned to every new pair of the batch")
        rn = pa.array([r[0] for r in assigned], pa.int32())
        n = len(assigned)
        now_array = pa.array([now] * n, pa.timestamp("us"))
        first_created = pa.array([r[2] for r in assigned], pa.timestamp("us"))
        # CRDATEUNIQUE: the earliest CreatedDate of the conflict's rows, this insert included.
        crdate = pc.fill_null(pc.min_element_wise(first_created, now_array), now_array)
        rows = rows_of(rn)
        extra = {
            "CONFLICTID": pa.array([r[1] for r in assigned], pa.int64()),
            "StatusFlag": pa.array(["N"] * n, pa.string()),
            "InServiceFlag": pa.array([self.kind.in_service_flag] * n, pa.string()),
            "PTOFlag": pa.array(["N"] * n, pa.string()),
            "CreatedDate": now_array,
            "CRDATEUNIQUE": crdate,
        }
        if self.window is not None:
            # Phase C's columns in the same write, so Phase C does not write the new rows again.
            extra.update(computed.arrow_columns(rows, self.window))
        for name, values in extra.items():
            rows = rows.append_column(name, values)
        counts.inserted = self._insert.copy(cur, self._insert.convert(rows))
        cur.execute(self._record_inserted_sql, self._events(now))

    def prepare(self, rows: PairRows) -> PreparedBatch:
        """Client-side work of a batch (conversion, duplicate keys, fingerprints): no database access, so
        it can run in another thread while the previous batch is written (`write_batches`). Arrow data
        with a `PairFingerprint` column (the source computed it, `source.common.with_fingerprint`) is
        only keyed here: its rows are converted later, and only those that must travel."""
        n_rows = rows.num_rows if isinstance(rows, pa.Table | pa.RecordBatch) else len(rows)
        if n_rows == 0:
            return PreparedBatch(0, pa.table({c: pa.array([]) for c in self.columns}))
        if isinstance(rows, pa.Table | pa.RecordBatch) and FINGERPRINT_COLUMN in rows.schema.names:
            return self._prepare_keys_only(self._arrow_table(rows))
        batch = self._written.convert(self._arrow_table(rows))
        oversized = too_long(batch, self._max_lengths)
        dropped = 0
        if oversized is not None:
            dropped = int(pc.sum(oversized).as_py())
            batch = batch.filter(pc.invert(oversized))
            if batch.num_rows == 0:
                return PreparedBatch(n_rows, batch, None, dropped)
        firsts = self._first_of_each_key(batch)
        if firsts is not None:
            batch = batch.take(firsts)
        # Of the converted values: typed as stored, so equal fingerprints mean equal values under the
        # same normalisation as the SQL compare (D11).
        fingerprint = pair_fingerprints(batch, self.columns)
        probe = self._probe_table(batch, batch.column("VisitID"), batch.column("ConVisitID"), fingerprint)
        return PreparedBatch(n_rows, batch.append_column(FINGERPRINT_COLUMN, fingerprint), probe, dropped)

    def _prepare_keys_only(self, table: pa.Table) -> PreparedBatch:
        """A batch with the source's fingerprint: the keys converted (a malformed key fails the batch
        here, as in the full conversion), duplicate keys dropped (D8 guard), the probe's table built;
        every other column stays in its source form."""
        present = set(table.column_names)
        missing = [c for c in self.columns if c not in present]
        if missing:
            raise ValueError(f"batch lacks column(s) {missing}")
        fingerprint = table.column(FINGERPRINT_COLUMN)
        if fingerprint.null_count:
            raise ValueError(f"{fingerprint.null_count} pair(s) of the batch came without a fingerprint")
        if pa.types.is_uint64(fingerprint.type):  # the same 64 bits, signed (the emulation's hash)
            fingerprint = signed64(fingerprint)
        elif not pa.types.is_int64(fingerprint.type):
            fingerprint = fingerprint.cast(pa.int64())
        keys = {k: convert_column(k, table.column(k), "uuid") for k in KEY_COLUMNS}
        source = table.select(list(self.columns))
        firsts = self._first_of_each_key(pa.table(keys))
        if firsts is not None:
            source = source.take(firsts)
            keys = {k: v.take(firsts) for k, v in keys.items()}
            fingerprint = fingerprint.take(firsts)
        probe = self._probe_table(source, keys["VisitID"], keys["ConVisitID"], fingerprint)
        return PreparedBatch(table.num_rows, source, probe, 0, deferred=True)

    def _probe_table(
        self, batch: pa.Table, visit: pa.Array, con_visit: pa.Array, fingerprint: pa.Array | pa.ChunkedArray
    ) -> pa.Table:
        """What the probe sends of a batch: row number, keys, fingerprint, and whether the columns users
        may fill arrive NULL (a NULL is a NULL in any form, converted or not)."""
        kept_null = np.ones(batch.num_rows, dtype=bool)
        for c in self._kept:
            kept_null &= np.asarray(batch.column(c).is_null().to_numpy(zero_copy_only=False), dtype=bool)
        return pa.table(
            {
                "rn": pa.array(np.arange(batch.num_rows, dtype=np.int32)),
                "VisitID": visit,
                "ConVisitID": con_visit,
                "fingerprint": fingerprint,
                "kept_null": pa.array(kept_null),
            }
        )

    def _settle_rows(
        self, cur: psycopg.Cursor[Any], prepared: PreparedBatch, compared: list[int], stored: int
    ) -> tuple[list[int], Callable[[pa.Array], pa.Table], int, bool]:
        """For a deferred batch, after the probe: convert only the rows that travel (the compared ones,
        and the new ones when inserting), with their fingerprint, and drop those with a text too long for
        its column (D23: they leave the batch's keys, so they are neither inserted nor seen). Returns the
        compared row numbers still to write, the converted rows of given row numbers, the number of
        dropped pairs, and whether new pairs remain to insert."""
        batch, keys = prepared.batch, prepared.keys
        assert keys is not None
        wanted = np.asarray(compared, dtype=np.int32)
        new_rn = np.asarray([], dtype=np.int32)
        if self.insert_enabled and stored < batch.num_rows:
            new = cur.execute(
                sql.SQL("SELECT rn FROM {} WHERE NOT stored").format(sql.Identifier(BATCH_KEYS))
            ).fetchall()
            new_rn = np.asarray([r[0] for r in new], dtype=np.int32)
            wanted = np.union1d(wanted, new_rn).astype(np.int32)
        taken = pa.array(wanted, pa.int32())
        rows = self._written.convert(batch.take(taken))
        rows = rows.append_column(FINGERPRINT_COLUMN, keys.column("fingerprint").take(taken))
        dropped = 0
        oversized = too_long(rows, self._max_lengths)
        if oversized is not None:
            mask = np.asarray(oversized.to_numpy(zero_copy_only=False), dtype=bool)
            gone = wanted[mask]
            dropped = int(gone.size)
            cur.execute(
                sql.SQL("DELETE FROM {} WHERE rn = ANY(%s)").format(sql.Identifier(BATCH_KEYS)),
                (gone.tolist(),),
            )
            wanted, rows = wanted[~mask], rows.filter(pa.array(~mask))
            dropped_rn = set(gone.tolist())
            compared = [rn for rn in compared if rn not in dropped_rn]
            new_rn = np.setdiff1d(new_rn, gone)

        def rows_of(rn: pa.Array) -> pa.Table:
            return rows.take(pa.array(np.searchsorted(wanted, np.asarray(rn)), pa.int64()))

        return compared, rows_of, dropped, new_rn.size > 0

    def write_batch(self, rows: PairRows, *, now: datetime) -> MergeCounts:
        """Merge one batch (tuples in `columns` order, or an Arrow table/record batch with those columns)."""
        return self.write_prepared(self.prepare(rows), now=now)

    def write_batches(
        self, batches: Iterable[PairRows], *, now: datetime, on_batch: Callable[[], None]
    ) -> MergeCounts:
        """Merge a stream of batches, preparing (and reading) the next batch in a second thread while the
        current one is written. At most two batches are in memory besides the one being read. `now` is
        the run's clock (D1: every written timestamp of a run is its start); `on_batch` runs before
        each write (cancellation checks)."""
        total = MergeCounts()
        for prepared in prefetch((self.prepare(b) for b in batches), depth=1):
            on_batch()
            total.add(self.write_prepared(prepared, now=now))
        return total

    def write_prepared(self, prepared: PreparedBatch, *, now: datetime) -> MergeCounts:
        """Merge a batch returned by `prepare`, in one transaction."""
        counts = MergeCounts(pairs_read=prepared.rows_read)
        if prepared.rows_read == 0:
            return counts
        batch, keys = prepared.batch, prepared.keys
        counts.skipped_oversized_text = prepared.oversized
        counts.duplicates_dropped = prepared.rows_read - prepared.oversized - batch.num_rows
        if batch.num_rows == 0:
            return counts
        assert keys is not None
        shared = is_shared_transaction(self.conn)
        if not shared and self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            # The session tables empty at commit: a batch inside the caller's transaction would see the
            # previous batch's rows.
            raise RuntimeError("PairWriter writes each batch in its own transaction: commit first")
        with self.conn.transaction(), self.conn.cursor() as cur:
            if shared:
                # Inside the dry run's one transaction nothing commits: empty the session tables here.
                cur.execute(
                    sql.SQL("TRUNCATE {}").format(
                        sql.SQL(", ").join(sql.Identifier(n) for n in (INCOMING, NEW_PAIRS, BATCH_KEYS))
                    )
                )
            self._keys.copy(cur, keys)
            # The statistics survive the rows (ON COMMIT DELETE ROWS): gathered again only when the batch
            # size moved, enough for the planner's row counts.
            if not 0.5 <= keys.num_rows / max(self._keys_analyzed, 1) <= 2:
                cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(BATCH_KEYS)))
                self._keys_analyzed = keys.num_rows
            row = cur.execute(
                self._probe_sql, {"trust_fingerprint": self.compare == "fingerprint"}
            ).fetchone()
            assert row is not None
            compared, counts.fingerprint_matched, stored = row[0] or [], int(row[1]), int(row[2])
            if prepared.deferred:
                compared, rows_of, counts.skipped_oversized_text, has_new = self._settle_rows(
                    cur, prepared, compared, stored
                )
            else:
                has_new, rows_of = stored < batch.num_rows, batch.take
            if compared:
                self._update_stored(cur, rows_of(pa.array(compared, pa.int32())), now, counts)
            if self.insert_enabled and has_new:
                self._insert_new(cur, rows_of, now, counts)
            cur.execute(self._seen_sql, {"run_id": self.run_id, "chunk": self.chunk})
        counts.unchanged = (
            counts.pairs_read
            - counts.skipped_oversized_text
            - counts.duplicates_dropped
            - counts.updated
            - counts.refreshed
            - counts.inserted
        )
        if not self.insert_enabled:
            counts.extra["not_inserted"] = counts.unchanged
        return counts


def forget_seen_pairs(conn: psycopg.Connection, run_id: str, chunk: int) -> None:
    """A rerun of a chunk starts from an empty seen set for that chunk."""
    conn.execute("DELETE FROM run_seen_pair WHERE run_id = %s AND chunk = %s", (run_id, chunk))
