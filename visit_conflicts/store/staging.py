"""PostgreSQL side of the staging step (D17).

* `sync_payer_provider_reminders` / `sync_payers`: load the Snowflake rows into a session temp table,
  count the unusable ones per reason (D23), and upsert the rest in one statement each (D8: one source
  row per key; rows are written only when a column differs). Counts come from the database (D13).
* `refresh_conflictlog_staging`: bring `conflictlog_staging` up to date atomically, by applying the
  changes (`staging_mode = "delta"`, `apply_conflictlog_staging_changes`) or by rebuilding it
  (`"rebuild"`, for repair; also what delta does when the change log has not followed the content yet).
* `apply_conflictlog_staging_changes` (D17 amended): the change log of migration 0032 lists every pair
  and conflict written since the last refresh, by the previous run or by users; in one transaction the
  staging rows of those pairs, of the pairs of those conflicts, and of visit dates that entered or left
  the window are deleted and copied again where they still belong, the log entries taken in are deleted,
  and `InProgressFlag` is set to 1. Readers see the old or the new content (one commit, MVCC). The rows
  it does not touch keep their "CreatedDate" (the time their content was copied); a rebuild keeps it too
  for the rows the log says did not change, so both modes give the same table.
* `rebuild_conflictlog_staging`: replace the content of `conflictlog_staging` atomically. In one
  transaction the new content is built into a new table with CREATE TABLE AS (its bulk-insert path
  loads 1M wide rows ~1.6x faster than INSERT ... SELECT into a prepared table), which then gets the
  old table's shape and surroundings (column types, defaults, NOT NULL, CHECK constraints, column and
  table comments, indexes, grants, owner, storage options; the shape is verified before the swap);
  then the old table is locked, the two are swapped by renaming, and `settings."InProgressFlag"` is
  set to 1; the transaction commits and the old table is dropped afterwards. Readers never see an
  empty or partial table:

  - until the commit, the new table is invisible (uncommitted) and readers read the old one;
  - the ACCESS EXCLUSIVE lock is held only for the renames and the flag (milliseconds; dropping the
    old table's files happens after the commit). A reader that arrives meanwhile waits; when it gets
    the lock, PostgreSQL notices that the name now denotes another relation and re-resolves it, so a
    READ COMMITTED statement (its snapshot is taken after the lock wait) reads the new, complete,
    committed table;
  - the lock is requested with a short `lock_timeout` and retried, so a long-running reader of the old
    table delays the swap instead of queueing every other reader behind the swap for long;
  - readers see the new content and InProgressFlag = 1 together (same commit).

  (A REPEATABLE READ/SERIALIZABLE transaction whose snapshot predates the commit would see the new
  table empty: the rows are newer than its snapshot. Readers of the staging table use READ COMMITTED.)

  When the table has objects a rename cannot carry over (dependent views, triggers, foreign keys,
  constraint indexes, policies, identity columns, ...; see select_swap_blockers.sql), the rebuild
  instead builds the content in a temp table, then in the same transaction locks the table,
  truncates it and copies the rows in: still atomic for readers (they wait for the lock), only the
  copy runs under the lock.

  Any failure rolls the whole transaction back: the old content, its indexes and the flag stay as
  they were. Rerunning is safe: each rebuild starts from the current conflict tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import UUID_PATTERN, read_sql
from visit_conflicts.store.db import is_shared_transaction

STAGING_TABLE = "conflictlog_staging"
_NEW_TABLE = "conflictlog_staging_new"
_OLD_TABLE = "conflictlog_staging_old"
_BUILD_TABLE = "_conflictlog_staging_build"

# Staging columns that take the parent's value when the staging table also has their "Con" twin,
# which then takes the pair's own value (as in the legacy staging copy).
_PARENT_WHEN_TWIN = {
    "StatusFlag": "ConStatusFlag",
    "FlagForReview": "ConFlagForReview",
    "FlagForReviewDate": "ConFlagForReviewDate",
}
_OWN_VALUE = {twin: column for column, twin in _PARENT_WHEN_TWIN.items()}

# Planner statistics gathered right after the build: the columns readers and joins key on.
_ANALYZE_COLUMNS = (
    "ID",
    "CONFLICTID",
    "VisitID",
    "ConVisitID",
    "VisitDate",
    "SSN",
    "ProviderID",
    "ConProviderID",
    "PayerID",
    "ConPayerID",
    "StatusFlag",
    "ConStatusFlag",
)
_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
)
_RELOPTION = re.compile(r"^[a-z_][a-z0-9_.]*=[A-Za-z0-9_.\-]+$")
_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$", re.DOTALL)

PhaseHook = Callable[[str], None]


class StagingError(RuntimeError):
    """The staging refresh cannot run; the message says what failed and what to do."""


# -- payer dimension syncs -------------------------------------------------------------------------


def sync_payer_provider_reminders(
    conn: psycopg.Connection, batches: Iterable[Sequence[tuple[Any, ...]]], *, now: datetime
) -> dict[str, int]:
    """Sync `payer_provider_reminders` from (payer_id, app_payer_id, contract, provider_id,
    app_provider_id, provider_name) text rows, in one transaction. Returns measured counts."""
    return _sync(
        conn,
        batches,
        now=now,
        create="create_payer_provider_source",
        table="_ppr_source",
        columns=("payer_id", "app_payer_id", "contract", "provider_id", "app_provider_id", "provider_name"),
        bad_rows="count_bad_payer_provider_rows",
        upsert="upsert_payer_provider_reminders",
    )


def sync_payers(
    conn: psycopg.Connection, batches: Iterable[Sequence[tuple[Any, ...]]], *, now: datetime
) -> dict[str, int]:
    """Sync `payers` from (payer_id, app_payer_id, payer_name, is_active, is_demo) rows, in one
    transaction. Returns measured counts."""
    return _sync(
        conn,
        batches,
        now=now,
        create="create_payer_source",
        table="_payer_source",
        columns=("payer_id", "app_payer_id", "payer_name", "is_active", "is_demo"),
        bad_rows="count_bad_payer_rows",
        upsert="upsert_payers",
    )


def _sync(
    conn: psycopg.Connection,
    batches: Iterable[Sequence[tuple[Any, ...]]],
    *,
    now: datetime,
    create: str,
    table: str,
    columns: Sequence[str],
    bad_rows: str,
    upsert: str,
) -> dict[str, int]:
    source_rows = 0
    with conn.transaction():
        conn.execute(_statement(create))
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        with conn.cursor() as cur:
            with cur.copy(copy_sql) as copy:
                for batch in batches:
                    for row in batch:
                        copy.write_row(row)
                    source_rows += len(batch)
            counts = {"source_rows": source_rows}
            cur.execute(_statement(bad_rows), {"uuid_pattern": UUID_PATTERN})
            for reason, n in cur.fetchall():
                counts[str(reason)] = int(n)
            cur.execute(_statement(upsert), {"now": now, "uuid_pattern": UUID_PATTERN})
            written = [bool(r[0]) for r in cur.fetchall()]
    skipped = sum(n for reason, n in counts.items() if reason.startswith("invalid_"))
    counts["inserted"] = sum(written)
    counts["updated"] = len(written) - counts["inserted"]
    counts["unchanged"] = source_rows - skipped - counts.get("duplicate_keys", 0) - len(written)
    return counts


# -- conflictlog_staging ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StagingRebuild:
    """Measured outcome of one refresh of conflictlog_staging (D13)."""

    rows: int  # rows written: the whole content (rebuild) or the rows copied again (delta)
    strategy: str  # "swap" (build a new table, rename), "in_place" (truncate and copy) or "delta"
    lock_attempts: int
    blockers: tuple[str, ...]
    in_progress_rows: int  # settings rows set to InProgressFlag = 1 (0 when not asked)
    deleted: int = 0  # delta: staging rows removed (copies redone, rows that left the window)
    changes: int = 0  # change log entries taken in
    notes: tuple[str, ...] = ()


StagingMode = Literal["delta", "rebuild"]


@dataclass(frozen=True)
class _Column:
    name: str
    type: str  # format_type(), e.g. 'character varying(100)'
    not_null: bool
    default: str | None
    comment: str | None


def refresh_conflictlog_staging(
    conn: psycopg.Connection,
    *,
    mode: StagingMode,
    window_start: date,
    window_end: date,
    now: datetime,
    set_in_progress: bool = True,
    lock_timeout_ms: int = 2000,
    lock_attempts: int = 30,
    on_phase: PhaseHook | None = None,
) -> StagingRebuild:
    """Bring conflictlog_staging to the content of the conflict tables, atomically for readers, with
    settings."InProgressFlag" = 1 in the same commit when `set_in_progress` (D17).

    "delta" applies the changes logged since the last refresh (`apply_conflictlog_staging_changes`),
    unless the change log cannot be trusted for it (never refreshed since migration 0032, a TRUNCATE):
    then, like "rebuild", the content is rebuilt (`rebuild_conflictlog_staging`). Both give the same
    table.
    """
    if mode == "delta":
        with conn.transaction():
            row = conn.execute(_statement("select_staging_reader")).fetchone()
        if row is not None and not row[0] and row[1] is not None and row[2] is not None:
            return apply_conflictlog_staging_changes(
                conn,
                window_start=window_start,
                window_end=window_end,
                now=now,
                set_in_progress=set_in_progress,
                on_phase=on_phase,
            )
        rebuilt = rebuild_conflictlog_staging(
            conn,
            window_start=window_start,
            window_end=window_end,
            now=now,
            set_in_progress=set_in_progress,
            lock_timeout_ms=lock_timeout_ms,
            lock_attempts=lock_attempts,
            on_phase=on_phase,
        )
        note = "rebuilt: the change log has not followed this content yet (first refresh, or a TRUNCATE)"
        return replace(rebuilt, notes=(*rebuilt.notes, note))
    return rebuild_conflictlog_staging(
        conn,
        window_start=window_start,
        window_end=window_end,
        now=now,
        set_in_progress=set_in_progress,
        lock_timeout_ms=lock_timeout_ms,
        lock_attempts=lock_attempts,
        on_phase=on_phase,
    )


def rebuild_conflictlog_staging(
    conn: psycopg.Connection,
    *,
    window_start: date,
    window_end: date,
    now: datetime,
    set_in_progress: bool = True,
    lock_timeout_ms: int = 2000,
    lock_attempts: int = 30,
    on_phase: PhaseHook | None = None,
) -> StagingRebuild:
    """Replace the content of conflictlog_staging atomically (see the module docstring) and, in the
    same commit, set settings."InProgressFlag" = 1 when `set_in_progress` (D17).

    `on_phase` (tests, benchmarks) is called with "built" once the new content is complete but not yet
    visible, "locked" when the swap holds the table's lock, and "swapped" when the new content replaced
    the old one and the flag is set, just before the commit.

    The change log's entries (migration 0032) are taken in by the same commit, so applying the changes
    can follow from here. When the log already followed the old content, rows it says did not change
    keep their "CreatedDate" (the time their content was copied), as applying the changes would: both
    modes give the same table (D17 amended).
    """
    # A dry run's one transaction (rolled back at its end) is the only transaction it may run inside.
    if not is_shared_transaction(conn) and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise StagingError("rebuild_conflictlog_staging needs a connection outside any transaction")
    params = {"window_start": window_start, "window_end": window_end, "now": now}
    new, old = sql.Identifier(_NEW_TABLE), sql.Identifier(_OLD_TABLE)
    with conn.transaction():
        # Only this step uses these names: a table under one is the leftover of an interrupted run.
        # Dropped in a transaction of its own, so that removing its files never extends the swap's lock.
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(new, old))
    with conn.transaction():
        columns = _columns(conn, STAGING_TABLE)
        if not columns:
            raise StagingError(f"table {STAGING_TABLE} has no columns; run `db migrate`")
        reader = conn.execute(_statement("select_staging_reader")).fetchone()
        changes = conn.execute(_statement("take_staging_changes")).rowcount
        conn.execute("ANALYZE _staging_log")
        names = {c.name for c in columns}
        keep = reader is not None and not reader[0] and {"ID", "CONFLICTID", "CreatedDate"} <= names
        if keep:
            conn.execute(_statement("kept_created_dates"))
            conn.execute("ANALYZE _staging_kept")
        select_list = _staging_select_list(
            [c.name for c in columns],
            {c.name for c in _columns(conn, "conflictvisitmaps")},
            sql.SQL("COALESCE(kept.{}, {})").format(sql.Identifier("CreatedDate"), sql.Placeholder("now"))
            if keep
            else None,
        )
        kept_join = sql.SQL('LEFT JOIN _staging_kept kept ON kept."ID" = cvm."ID"' if keep else "")
        blockers = tuple(
            str(r[0]) for r in conn.execute(_statement("select_swap_blockers"), {"table": STAGING_TABLE})
        )
        if blockers:
            rows = _build(conn, _BUILD_TABLE, columns, select_list, params, kept_join, temporary=True)
        else:
            rows = _build(conn, _NEW_TABLE, columns, select_list, params, kept_join, temporary=False)
            index_names = _copy_surroundings(conn, STAGING_TABLE, _NEW_TABLE, columns)
        if on_phase:
            on_phase("built")
        attempts = _lock_exclusive(conn, STAGING_TABLE, lock_timeout_ms, lock_attempts)
        if on_phase:
            on_phase("locked")
        if blockers:
            _replace_rows(conn, columns)
        else:
            _swap_tables(conn, index_names)
        conn.execute(_statement("consume_staging_changes"))
        conn.execute(_statement("record_staging_refresh"), params)
        flagged = conn.execute('UPDATE settings SET "InProgressFlag" = 1').rowcount if set_in_progress else 0
        if on_phase:
            on_phase("swapped")
    if not blockers:
        # Outside the swap: removing ~GBs of files takes seconds and must not extend the lock.
        with conn.transaction():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(old))
    strategy = "in_place" if blockers else "swap"
    return StagingRebuild(rows, strategy, attempts, blockers, flagged, changes=changes)


def apply_conflictlog_staging_changes(
    conn: psycopg.Connection,
    *,
    window_start: date,
    window_end: date,
    now: datetime,
    set_in_progress: bool = True,
    on_phase: PhaseHook | None = None,
) -> StagingRebuild:
    """D17 amended: apply the changes logged since the last refresh to conflictlog_staging, in one
    transaction (readers see the old or the new content, never a mix: MVCC), with InProgressFlag = 1 in
    the same commit.

    The rows redone are those of the pairs in the change log (migration 0032), of the conflicts in it,
    and of the visit dates that entered the window; rows that left the window go. The staging copy is
    taken at the start of the run, before any conflict table changes (D17), so "the changes" are those of
    the previous run and of users since: exactly what the log holds. `on_phase` gets "built" once the new
    rows are written (not yet visible) and "swapped" just before the commit.
    """
    # A dry run's one transaction (rolled back at its end) is the only transaction it may run inside.
    if not is_shared_transaction(conn) and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise StagingError("apply_conflictlog_staging_changes needs a connection outside any transaction")
    with conn.transaction():
        reader = conn.execute(_statement("select_staging_reader")).fetchone()
        if reader is None or reader[0] or reader[1] is None or reader[2] is None:
            raise StagingError("the change log does not follow conflictlog_staging yet: rebuild it first")
        old_start, old_end = reader[1], reader[2]
        columns = _columns(conn, STAGING_TABLE)
        select_list = _staging_select_list(
            [c.name for c in columns], {c.name for c in _columns(conn, "conflictvisitmaps")}
        )
        changes = conn.execute(_statement("take_staging_changes")).rowcount
        # Planned as a handful of rows, the joins on it (and the consuming DELETE) loop over whole tables.
        conn.execute("ANALYZE _staging_log")
        params = {
            "window_start": window_start,
            "window_end": window_end,
            "old_start": old_start,
            "old_end": old_end,
            "now": now,
        }
        conn.execute(_statement("select_staging_pairs"), params)
        conn.execute("ANALYZE _staging_pairs")
        deleted_row = conn.execute(_statement("delete_staging_rows"), params).fetchone()
        deleted = int(deleted_row[0]) if deleted_row else 0
        insert = sql.SQL(read_sql("postgres/staging/insert_staging_rows.sql")).format(
            columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
            select_list=sql.SQL(", ").join(
                sql.SQL("CAST({} AS {})").format(term, sql.SQL(c.type))
                for term, c in zip(select_list, columns, strict=True)
            ),
        )
        rows = conn.execute(insert, params).rowcount
        if on_phase:
            on_phase("built")
        conn.execute(_statement("consume_staging_changes"))
        conn.execute(_statement("record_staging_refresh"), params)
        flagged = conn.execute('UPDATE settings SET "InProgressFlag" = 1').rowcount if set_in_progress else 0
        if on_phase:
            on_phase("swapped")
    return StagingRebuild(rows, "delta", 0, (), flagged, deleted=deleted, changes=changes)


def _swap_tables(conn: psycopg.Connection, index_names: Sequence[tuple[str, str]]) -> None:
    """Under the lock: the new table takes the staging name, its indexes the old indexes' names."""
    staging, new, old = (sql.Identifier(n) for n in (STAGING_TABLE, _NEW_TABLE, _OLD_TABLE))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(staging, old))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new, staging))
    # The old table is dropped after the commit: its indexes move out of the way now.
    for temporary, name in index_names:
        moved = sql.Identifier(f"{name[:50]}_vc_old")
        conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(name), moved))
        conn.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(temporary), sql.Identifier(name))
        )


def _replace_rows(conn: psycopg.Connection, columns: Sequence[_Column]) -> None:
    """Under the lock (fallback strategy): the staging rows become the built ones."""
    staging = sql.Identifier(STAGING_TABLE)
    conn.execute(sql.SQL("TRUNCATE {}").format(staging))
    conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(staging, sql.Identifier(_BUILD_TABLE)))
    _analyze_keys(conn, STAGING_TABLE, columns)


def _build(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[_Column],
    select_list: Sequence[sql.Composable],
    params: dict[str, Any],
    kept_join: sql.Composable,
    *,
    temporary: bool,
) -> int:
    """CREATE [TEMP] TABLE `table` AS the staging rows, each column cast to the staging column's type."""
    statement = sql.SQL(read_sql("postgres/staging/create_staging_rows.sql")).format(
        temporary=sql.SQL("TEMP " if temporary else ""),
        target=sql.Identifier(table),
        columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
        select_list=sql.SQL(", ").join(
            sql.SQL("CAST({} AS {})").format(term, sql.SQL(c.type))
            for term, c in zip(select_list, columns, strict=True)
        ),
        on_commit=sql.SQL("ON COMMIT DROP" if temporary else ""),
        kept_join=kept_join,
    )
    return conn.execute(statement, params).rowcount


def _copy_surroundings(
    conn: psycopg.Connection, source: str, target: str, columns: Sequence[_Column]
) -> list[tuple[str, str]]:
    """Give `target` the shape and surroundings of `source` (see the module docstring) and statistics
    on its key columns; returns (temporary name, source's name) of the indexes it created."""
    ident = sql.Identifier(target)
    changes: list[sql.Composable] = []
    for c in columns:
        if c.default is not None:
            changes.append(
                sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(c.name), sql.SQL(c.default))
            )
        if c.not_null:
            changes.append(sql.SQL("ALTER COLUMN {} SET NOT NULL").format(sql.Identifier(c.name)))
    for name, definition in conn.execute(
        _statement("select_check_constraints"), {"table": source}
    ).fetchall():
        changes.append(sql.SQL("ADD CONSTRAINT {} {}").format(sql.Identifier(name), sql.SQL(definition)))
    if changes:
        conn.execute(sql.SQL("ALTER TABLE {} ").format(ident) + sql.SQL(", ").join(changes))
    for c in columns:
        if c.comment is not None:
            conn.execute(
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                    ident, sql.Identifier(c.name), sql.Literal(c.comment)
                )
            )
    # Indexes under temporary names; the swap gives them the source's names.
    index_names = []
    indexes = conn.execute(_statement("select_plain_indexes"), {"table": source}).fetchall()
    for i, (name, definition) in enumerate(indexes):
        m = _INDEX_DEF.match(definition)
        if m is None:
            raise StagingError(f"cannot recreate index {name} of {source} from {definition!r}")
        temporary = f"{target}_idx{i}"
        conn.execute(
            sql.SQL("CREATE {}INDEX {} ON {} {}").format(
                sql.SQL(m.group(1) or ""), sql.Identifier(temporary), ident, sql.SQL(m.group(2))
            )
        )
        index_names.append((temporary, str(name)))
    _copy_table_properties(conn, source, target)
    built = _columns(conn, target)
    if built != list(columns):
        diff = sorted({str(c) for c in built} ^ {str(c) for c in columns})
        raise StagingError(
            f"the rebuilt {source} would differ from the current one: {diff[:4]}; nothing changed"
        )
    _analyze_keys(conn, target, columns)
    return index_names


def _analyze_keys(conn: psycopg.Connection, table: str, columns: Sequence[_Column]) -> None:
    """Statistics on the key columns only (a full ANALYZE of ~126 columns costs seconds per 100K rows,
    the key columns a fraction of that); the maintenance step (D21) analyses the whole table later."""
    present = {c.name for c in columns}
    keys = [c for c in _ANALYZE_COLUMNS if c in present]
    conn.execute(
        sql.SQL("ANALYZE {} ({})").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, keys))
        )
    )


def _staging_select_list(
    staging_columns: Sequence[str], cvm_columns: set[str], created: sql.Composable | None = None
) -> list[sql.Composable]:
    """B.2: the source expression of each staging column, in order; "CreatedDate" is `created` (default:
    the time of the copy)."""
    present = set(staging_columns)
    terms: list[sql.Composable] = []
    missing = []
    for column in staging_columns:
        if column in _PARENT_WHEN_TWIN and _PARENT_WHEN_TWIN[column] in present:
            terms.append(sql.Identifier("c", column))
        elif column in _OWN_VALUE:
            terms.append(sql.Identifier("cvm", _OWN_VALUE[column]))
        elif column == "CreatedDate":
            terms.append(created if created is not None else sql.Placeholder("now"))
        elif column in cvm_columns:
            terms.append(sql.Identifier("cvm", column))
        else:
            missing.append(column)
    if missing:
        raise StagingError(
            f"{STAGING_TABLE} has column(s) {missing} with no conflictvisitmaps counterpart; "
            "drop them or add a migration that gives them a source"
        )
    return terms


def _lock_exclusive(conn: psycopg.Connection, table: str, timeout_ms: int, attempts: int) -> int:
    """Take ACCESS EXCLUSIVE on `table`, waiting at most `timeout_ms` per attempt; returns the attempt
    that got it. Between attempts the readers queued behind the request proceed."""
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():  # a savepoint: a timed-out attempt leaves the build intact
                conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{timeout_ms}ms")))
                conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))
        except psycopg.errors.LockNotAvailable:
            continue
        conn.execute("SET LOCAL lock_timeout TO DEFAULT")
        return attempt
    raise StagingError(
        f"could not lock {table} for the swap in {attempts} attempts of {timeout_ms} ms: a long "
        f"transaction holds it (see pg_locks / pg_stat_activity); nothing was changed, rerun the step"
    )


def _copy_table_properties(conn: psycopg.Connection, source: str, target: str) -> None:
    """Grants, table comment, storage options and owner of `source`, applied to `target`."""
    row = conn.execute(_statement("select_table_properties"), {"table": source}).fetchone()
    assert row is not None
    owner, comment, reloptions, grants = row
    ident = sql.Identifier(target)
    for grantee, privilege, grantable in grants or []:
        if privilege not in _PRIVILEGES:
            raise StagingError(f"unexpected privilege {privilege!r} on {source}; cannot copy it")
        conn.execute(
            sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege),
                ident,
                sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION") if grantable == "yes" else sql.SQL(""),
            )
        )
    if comment is not None:
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(comment)))
    if reloptions:
        bad = [o for o in reloptions if not _RELOPTION.match(o)]
        if bad:
            raise StagingError(f"unexpected storage option(s) {bad} on {source}; cannot copy them")
        conn.execute(
            sql.SQL("ALTER TABLE {} SET ({})").format(
                ident, sql.SQL(", ").join(sql.SQL(o) for o in reloptions)
            )
        )
    current = conn.execute("SELECT current_user").fetchone()
    if current is not None and owner != current[0]:
        conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(ident, sql.Identifier(owner)))


def _columns(conn: psycopg.Connection, table: str) -> list[_Column]:
    return [_Column(*r) for r in conn.execute(_statement("select_table_columns"), {"table": table})]


def _statement(name: str) -> bytes:
    return read_sql(f"postgres/staging/{name}.sql").encode()
