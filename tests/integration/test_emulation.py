"""The Snowflake emulation serves several chunk threads at once, each with its own session tables."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from visit_conflicts.source.connection import SourceError, connect_source
from visit_conflicts.sql_files import read_sql


def test_parallel_sessions_create_the_same_temp_tables(source_dir: Path) -> None:
    """Detect chunks run in parallel threads; each creates the same-named session tables (DDL is
    serialised for the emulation's catalog). Without that, one thread fails on a duplicate key."""
    statements = [
        read_sql(f"snowflake/common/{name}.sql")
        for name in ("create_excluded_ssn", "create_excluded_provider", "create_mph_band")
    ]

    def session(i: int) -> int:
        conn = connect_source(source_dir)
        try:
            cur = conn.cursor()
            for _ in range(5):
                for statement in statements:
                    cur.execute(statement)
            cur.execute("INSERT INTO VC_EXCLUDED_SSN (ssn) VALUES (%s)", (f"ssn-{i}",))
            cur.execute("SELECT ssn FROM VC_EXCLUDED_SSN")
            rows = cur.fetchall()
            assert rows == [(f"ssn-{i}",)]  # private to the session
            return len(rows)
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(session, range(8))) == [1] * 8


def test_every_source_session_works_in_utc_and_the_emulation_skips_only_utc(source_dir: Path) -> None:
    """D1: the run's literals and the business zone decide every date and time, never the session's
    zone. connect_source sets the session to UTC; the emulation, which always works in UTC, skips that
    statement and refuses any other zone instead of silently ignoring it."""
    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        cur.execute(read_sql("snowflake/connection/set_session_time_zone.sql"))  # a no-op here
        # An NTZ value cast to TIMESTAMP_TZ is read in the session zone: UTC.
        cur.execute("SELECT CAST(CAST('2024-07-01 12:00:00' AS TIMESTAMP_NTZ) AS TIMESTAMP_TZ)")
        (value,) = cur.fetchone()
        assert value.utcoffset().total_seconds() == 0 and (value.hour, value.minute) == (12, 0)
        with pytest.raises(Exception, match="not implemented"):
            cur.execute("ALTER SESSION SET TIMEZONE = 'America/New_York'")
    finally:
        conn.close()


def test_a_bound_query_is_translated_once_per_process(source_dir: Path) -> None:
    """The emulation's translation cache: every chunk binds the same pair query text, and sqlglot's
    translation of it costs seconds, so a text is translated once and reused by every connection; the
    cached path returns what fakesnow's own path returns (rows, column names), and statements that
    change anything are never cached."""
    from devkit.emulation import clear_translations, translation_stats

    clear_translations()
    query = "SELECT n, n * 2 AS twice FROM VC_NUMBERS WHERE n >= %(low)s ORDER BY n"
    results = []
    for _ in range(3):
        conn = connect_source(source_dir)
        try:
            cur = conn.cursor()
            cur.execute("CREATE OR REPLACE TEMPORARY TABLE VC_NUMBERS (n INTEGER)")
            cur.execute("INSERT INTO VC_NUMBERS (n) VALUES (1), (2), (3)")
            cur.execute(query, {"low": 2})
            results.append((cur.fetchall(), [d[0] for d in cur.description]))
            cur.execute(query, {"low": 3})  # another bound text: translated on its own
            assert cur.fetchall() == [(3, 6)]
            uncached = cur._cursor  # fakesnow's cursor, without the wrapper
            uncached.execute(query, {"low": 2})
            assert (uncached.fetchall(), [d[0] for d in uncached.description]) == results[-1]
        finally:
            conn.close()
    assert results == [([(2, 4), (3, 6)], ["N", "TWICE"])] * 3
    stats = translation_stats()
    assert (stats.misses, stats.hits) == (2, 4)
    assert stats.saved_seconds > 0


def test_a_failing_cached_query_fails_as_fakesnow_reports_it(source_dir: Path) -> None:
    """A query whose cached form fails (here: a table gone since it was translated) raises fakesnow's
    own error, as without the cache."""
    from snowflake.connector.errors import ProgrammingError

    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        cur.execute("CREATE OR REPLACE TEMPORARY TABLE VC_GONE (n INTEGER)")
        cur.execute("SELECT n FROM VC_GONE")
        assert cur.fetchall() == []
        cur.execute("DROP TABLE VC_GONE")
        with pytest.raises(ProgrammingError, match="VC_GONE"):
            cur.execute("SELECT n FROM VC_GONE")
    finally:
        conn.close()


def _setting(source_dir: Path, name: str) -> str:
    conn = connect_source(source_dir)
    try:
        # The DuckDB instance under the emulation (the setting is not Snowflake SQL).
        (value,) = conn._duck_conn.execute(f"SELECT current_setting('{name}')").fetchone()
        return str(value)
    finally:
        conn.close()


def test_the_emulation_caps_duckdb_memory_and_gives_it_a_spill_directory(source_dir: Path) -> None:
    """Without a cap DuckDB's buffer pool may take 80 % of the machine and the process was killed at
    SF 0.25; the emulation caps it at 40 % of RAM and spills to the source directory."""
    total_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    value, unit = _setting(source_dir, "memory_limit").split()
    limit_gib = float(value) / (1024 if unit == "MiB" else 1)
    assert unit in ("MiB", "GiB") and abs(limit_gib - 0.4 * total_gib) < 0.05 * total_gib
    assert Path(_setting(source_dir, "temp_directory")) == source_dir.resolve() / "duckdb-spill"


def test_a_query_larger_than_the_cap_spills_instead_of_failing(
    source_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VC_EMULATION_MEMORY_LIMIT", "128MB")
    assert _setting(source_dir, "memory_limit") == "122.0 MiB"  # 128 MB
    # About 250 MB to sort: more than the cap.
    big_sort = (
        "SELECT COUNT(*) FROM (SELECT MD5(TO_VARCHAR(SEQ8())) || REPEAT('x', 90) AS k"
        " FROM TABLE(GENERATOR(ROWCOUNT => 2000000)) ORDER BY k)"
    )
    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        cur.execute(big_sort)
        assert cur.fetchone() == (2_000_000,)
        # The control: with no room to spill the same sort does not fit.
        conn._duck_conn.execute("SET GLOBAL max_temp_directory_size = '0KB'")
        with pytest.raises(Exception, match="Out of Memory"):
            cur.execute(big_sort)
    finally:
        conn.close()


def test_a_malformed_memory_limit_is_a_clear_error(source_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VC_EMULATION_MEMORY_LIMIT", "lots")
    with pytest.raises(SourceError, match="VC_EMULATION_MEMORY_LIMIT='lots' is not a DuckDB size"):
        connect_source(source_dir)
    # The failed start left nothing bound: the next connection does not run uncapped, it fails the same.
    with pytest.raises(SourceError, match="VC_EMULATION_MEMORY_LIMIT='lots' is not a DuckDB size"):
        connect_source(source_dir)
