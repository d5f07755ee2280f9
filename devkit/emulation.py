"""The Snowflake emulation: `fakesnow` (DuckDB underneath) behind the real `snowflake-connector-python` API.

Locally and in CI the pipeline's Snowflake SQL runs here unchanged. The emulation is persisted in a
directory: database `ANALYTICS` lives in `<source_dir>/ANALYTICS.db`. It patches
`snowflake.connector.connect` process-wide, once; every connection it hands out is an independent DuckDB
cursor on one shared in-process database, which is safe to use from several threads (one connection per
thread). `create_source_schema` makes the source tables (`sql/snowflake/schema/`) for writers of a source
directory: the generator and the tests.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
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
        _patch_cm, _patched_dir = cm, source_dir


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
        return self._cursor.execute(command, *args, **kwargs)

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
