"""The Snowflake emulation: `fakesnow` (DuckDB underneath) behind the real `snowflake-connector-python` API.

Locally and in CI the pipeline's Snowflake SQL runs here unchanged. The emulation is persisted in a
directory: database `ANALYTICS` lives in `<source_dir>/ANALYTICS.db`. It patches
`snowflake.connector.connect` process-wide, once; every connection it hands out is an independent DuckDB
cursor on one shared in-process database, which is safe to use from several threads (one connection per
thread). `create_source_schema` makes the source tables (`sql/snowflake/schema/`) for writers of a source
directory: the generator and the tests.

Queries (a statement that only reads: SELECT or WITH) go through a translation cache: fakesnow parses
each statement with sqlglot and rewrites it for DuckDB on every execution, which costs seconds for the
pair query (about 40 KB of SQL) and holds the GIL while it runs, so parallel chunks wait on each other.
The cache keys the DuckDB text by the statement as bound (the same text gives the same translation);
every chunk of a run binds the same pair query, so it is translated once per process. Statements that
change anything (DDL, DML, session settings) keep fakesnow's own path, and so does any query whose cached
form fails: fakesnow then raises the error it would have raised. `VC_EMULATION_TRANSLATION_CACHE=0` in
the environment turns the cache off (to measure what it saves).

Memory: DuckDB keeps the source's pages it reads in a buffer pool that, by default, may grow to 80 % of
the machine's memory, and the Python side (Arrow results, the pipeline's own work) comes on top: at SF 0.25
a first load on a 24 GiB machine was killed by the kernel. The emulation therefore caps DuckDB at 40 % of
the machine's memory (`VC_EMULATION_MEMORY_LIMIT`, a DuckDB size such as `8GB`, overrides it) and lets it
spill what does not fit to `<source_dir>/duckdb-spill`. Real Snowflake needs no such setting.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import snowflake.connector

from visit_conflicts.source.connection import SOURCE_DATABASE, SOURCE_SCHEMA, SourceError
from visit_conflicts.source.schema import SOURCE_TABLES, source_ddl

# Statements the emulation cannot run but that are harmless to skip: session tagging, and the session
# time zone when it is UTC (fakesnow runs DuckDB with TimeZone = 'UTC' for every connection, so setting
# UTC changes nothing; any other zone is refused, as the emulation could not honour it). Leading
# comment lines (the .sql files open with some) are allowed before the verb.
_COMMENTS = r"^(?:\s*--[^\n]*\n)*"
_NOP_REGEXES = [
    _COMMENTS + r"\s*ALTER\s+SESSION\s+SET\s+QUERY_TAG",
    _COMMENTS + r"\s*ALTER\s+SESSION\s+SET\s+TIMEZONE\s*=\s*'UTC'\s*;?\s*$",
]

_lock = threading.Lock()
_patched_dir: Path | None = None
_patch_cm: contextlib.AbstractContextManager[None] | None = None


def _ensure_emulation(source_dir: Path) -> None:
    """Patch the connector with fakesnow persisted in `source_dir` (once per process)."""
    global _patched_dir, _patch_cm
    source_dir = source_dir.resolve()
    with _lock:
        if _patched_dir == source_dir:
            return
        if _patched_dir is not None:
            raise SourceError(
                f"the Snowflake emulation is already bound to {_patched_dir}; "
                f"one process serves one source directory (asked for {source_dir})"
            )
        import fakesnow

        # fakesnow's advice to its own callers, printed on every fetch; nothing for our users to act on.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        source_dir.mkdir(parents=True, exist_ok=True)
        cm = fakesnow.patch(db_path=source_dir, nop_regexes=_NOP_REGEXES)
        cm.__enter__()
        try:
            _cap_memory(source_dir)
        except BaseException:
            # Not bound uncapped: the next connection tries again and reports the same error.
            cm.__exit__(None, None, None)
            raise
        _patch_cm, _patched_dir = cm, source_dir


# Share of the machine's memory the emulation's DuckDB may use, unless VC_EMULATION_MEMORY_LIMIT says.
_MEMORY_SHARE = 0.4


def emulation_memory_limit() -> str:
    """The DuckDB memory limit the emulation runs with: `VC_EMULATION_MEMORY_LIMIT` or 40 % of RAM."""
    configured = os.environ.get("VC_EMULATION_MEMORY_LIMIT", "").strip()
    if configured:
        return configured
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(total * _MEMORY_SHARE) // 2**20)}MB"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cap_memory(source_dir: Path) -> None:
    """Bound DuckDB's buffer pool and give it a place to spill (module docstring: Memory)."""
    spill = source_dir / "duckdb-spill"
    spill.mkdir(exist_ok=True)
    conn = snowflake.connector.connect()
    try:
        # Settings of the DuckDB instance, shared by every cursor the emulation hands out.
        duck = conn._duck_conn  # type: ignore[attr-defined]
        limit = emulation_memory_limit()
        try:
            duck.execute(f"SET GLOBAL memory_limit = {_literal(limit)}")
        except Exception as exc:  # duckdb's parser error: the operator's setting is malformed
            raise SourceError(f"VC_EMULATION_MEMORY_LIMIT={limit!r} is not a DuckDB size: {exc}") from exc
        duck.execute(f"SET GLOBAL temp_directory = {_literal(spill.as_posix())}")
    finally:
        conn.close()


def release_emulation() -> None:
    """Undo the patch and forget the directory (tests that use several source directories)."""
    global _patched_dir, _patch_cm
    with _lock:
        if _patch_cm is not None:
            _patch_cm.__exit__(None, None, None)
        _patch_cm, _patched_dir = None, None


# Leading comments (the .sql files open with one) are skipped before looking at the verb.
_DDL = re.compile(
    r"^(?:\s*--[^\n]*\n|\s*/\*.*?\*/)*\s*(CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE | re.DOTALL
)
# The emulation keeps a catalog of tables that concurrent DDL transactions (one per chunk thread, each
# creating its own session tables) would update at once and fail on; DDL is therefore serialised. Real
# Snowflake needs no such lock.
_ddl_lock = threading.Lock()


# A statement that only reads: leading comments, then SELECT or WITH (a CREATE ... AS SELECT starts with
# CREATE and is not one).
_QUERY = re.compile(r"^(?:\s*--[^\n]*\n|\s*/\*.*?\*/)*\s*(SELECT|WITH)\b", re.IGNORECASE | re.DOTALL)
# Distinct bound queries kept; a run binds a few dozen, and the largest translation is about 40 KB.
_CACHE_SIZE = 128
_CACHE_ON = os.environ.get("VC_EMULATION_TRANSLATION_CACHE", "1") != "0"


@dataclass
class TranslationStats:
    """What the translation cache did in this process: translations made (misses), reuses (hits), the
    seconds the misses spent translating and the seconds the hits would have spent."""

    misses: int = 0
    hits: int = 0
    translate_seconds: float = 0.0
    saved_seconds: float = 0.0


@dataclass(frozen=True)
class _Translation:
    duckdb_sql: str
    transformed: Any  # fakesnow's transformed expression, kept as fakesnow keeps it with a result
    seconds: float


class _TranslationCache:
    """Bound query text -> its DuckDB translation (LRU), shared by every emulated connection of the
    process. One thread translates a given text; the others wanting it wait for that translation
    instead of repeating it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, _Translation | None] = OrderedDict()
        self._lock = threading.Lock()
        self._translating: dict[str, threading.Lock] = {}
        self.stats = TranslationStats()

    def get(self, bound: str, translate: Any) -> _Translation | None:
        """The translation of `bound`, made by `translate()` (None: not cacheable) on first use."""
        with self._lock:
            if bound in self._entries:
                return self._hit(bound)
            key_lock = self._translating.setdefault(bound, threading.Lock())
        with key_lock:
            with self._lock:
                if bound in self._entries:
                    return self._hit(bound)
            started = time.perf_counter()
            translation = translate()
            seconds = time.perf_counter() - started
            if translation is not None:
                translation = _Translation(translation[0], translation[1], seconds)
            with self._lock:
                self._entries[bound] = translation
                self._translating.pop(bound, None)
                self.stats.misses += 1
                self.stats.translate_seconds += seconds
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            return translation

    def _hit(self, bound: str) -> _Translation | None:
        self._entries.move_to_end(bound)
        translation = self._entries[bound]
        self.stats.hits += 1
        if translation is not None:
            self.stats.saved_seconds += translation.seconds
        return translation

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.stats = TranslationStats()


_translations = _TranslationCache(_CACHE_SIZE)


def translation_stats() -> TranslationStats:
    """A copy of the translation cache's counters (benchmarks report them)."""
    with _translations._lock:
        return TranslationStats(**vars(_translations.stats))


def clear_translations() -> None:
    """Forget every cached translation and reset the counters."""
    _translations.clear()


def _translate(cursor: Any, bound: str) -> tuple[str, Any] | None:
    """fakesnow's own translation of one bound query (parse, rewrite, DuckDB text), or None when the
    statement is not a single plain query (fakesnow's path then handles it)."""
    from fakesnow.dialect import parse_one
    from sqlglot import exp

    expression = parse_one(bound)
    cursor.check_db_and_schema(expression)
    statements = cursor._transform_explode(expression)
    if len(statements) != 1:
        return None
    transformed = cursor._transform(statements[0], None)
    # A query that samples with a seed gets a prefix statement from fakesnow: not cached.
    if not isinstance(transformed, exp.Query) or transformed.find(exp.TableSample) is not None:
        return None
    return transformed.sql(dialect="duckdb"), transformed


def _run_translated(cursor: Any, translation: _Translation) -> None:
    """Run a cached translation on a fakesnow cursor and leave the result where fakesnow's own
    execution leaves it (fakesnow 0.12: `FakeSnowflakeCursor._execute` for a query)."""
    cursor._sqlstate = None
    cursor._arrow_table = None
    cursor._arrow_table_fetch_index = None
    cursor._rowcount = None
    cursor._sfqid = None
    cursor._duck_conn.execute(translation.duckdb_sql)
    table = cursor._duck_conn.to_arrow_table()
    cursor._arrow_table = table
    cursor._rowcount = table.num_rows
    cursor._sfqid = str(uuid.uuid4())
    cursor._last_sql = translation.duckdb_sql
    cursor._last_params = None
    cursor._last_transformed = translation.transformed
    cursor._conn.results_cache[cursor._sfqid] = (
        table,
        table.num_rows,
        translation.duckdb_sql,
        None,
        translation.transformed,
    )


class _ArrowResultBatch:
    def __init__(self, batch: Any) -> None:
        self._batch = batch

    @property
    def rowcount(self) -> int:
        return int(self._batch.rowcount)

    def to_arrow(self, connection: Any = None, force_microsecond_precision: bool = False) -> Any:
        """The batch as an Arrow table (the connector's signature; DuckDB timestamps are already us)."""
        import pyarrow as pa

        return pa.Table.from_batches([self._batch._batch])


class _EmulatedCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, command: str, *args: Any, **kwargs: Any) -> Any:
        if _DDL.match(command):
            with _ddl_lock:
                return self._cursor.execute(command, *args, **kwargs)
        if (
            _CACHE_ON
            and _QUERY.match(command)
            and not kwargs
            and len(args) <= 1
            and self._cached(command, *args)
        ):
            return self
        return self._cursor.execute(command, *args, **kwargs)

    def _cached(self, command: str, params: Any = None) -> bool:
        """Run `command` through the translation cache; False: it takes fakesnow's own path (not a
        plain query, or its cached form failed, so fakesnow reports the error in its own terms)."""
        cursor = self._cursor
        try:
            bound, rest = cursor._rewrite_with_params(cursor._inline_variables(command), params)
            if rest is not None:  # bound server-side: fakesnow passes the values to DuckDB itself
                return False
            # The current database and schema take part: fakesnow qualifies names with them.
            key = f"{cursor._conn.database}.{cursor._conn.schema}\n{bound}"
            translation = _translations.get(key, lambda: _translate(cursor, bound))
            if translation is None:
                return False
            _run_translated(cursor, translation)
        except Exception:
            return False
        return True

    def get_result_batches(self) -> list[Any] | None:
        """Result batches that convert to Arrow, as the real connector's do (fakesnow 0.12 leaves
        `to_arrow` unimplemented but holds each batch as an Arrow record batch)."""
        batches = self._cursor.get_result_batches()
        return None if batches is None else [_ArrowResultBatch(b) for b in batches]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Any:
        return iter(self._cursor)

    def __enter__(self) -> _EmulatedCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()


class _EmulatedConnection:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def cursor(self, *args: Any, **kwargs: Any) -> _EmulatedCursor:
        return _EmulatedCursor(self._conn.cursor(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __enter__(self) -> _EmulatedConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()


def connect_emulated(
    source_dir: Path, *, database: str = SOURCE_DATABASE, schema: str = SOURCE_SCHEMA
) -> Any:
    """A connector connection to the emulation persisted in `source_dir`."""
    _ensure_emulation(Path(source_dir))
    # Opening attaches the database file on first use; two threads doing it at once would collide.
    with _ddl_lock:
        return _EmulatedConnection(snowflake.connector.connect(database=database, schema=schema))


def create_source_schema(conn: Any) -> None:
    """Create every source table that does not exist yet (in the connection's current database/schema)."""
    cur = conn.cursor()
    try:
        for table in SOURCE_TABLES:
            cur.execute(source_ddl(table))
    finally:
        cur.close()


def drop_source_schema(conn: Any) -> None:
    """Drop every source table, so that a following `create_source_schema` starts from empty tables."""
    cur = conn.cursor()
    try:
        for table in SOURCE_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        cur.close()
