"""The Snowflake emulation serves several chunk threads at once, each with its own session tables."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from visit_conflicts.source.connection import connect_source
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
