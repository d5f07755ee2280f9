"""Static checks of the Snowflake SQL (sql/snowflake) and of the detect step's Python contract (no
database)."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from visit_conflicts.columns import INSERVICE_PAIR_COLUMNS, PAIR_COLUMNS
from visit_conflicts.paths import PG_MIGRATIONS_DIR, SF_SQL_DIR
from visit_conflicts.source import common, plan
from visit_conflicts.source.common import chunk_of
from visit_conflicts.sql_files import read_sql

DETECT_DIR = SF_SQL_DIR / "detect"
CONTRACT_DIR = Path(__file__).resolve().parents[1] / "contract"


def test_pair_columns_are_the_legacy_output_row_in_order() -> None:
    """The pair row is the legacy detection's output row (its 206 columns in order) without CONFLICTID,
    which PostgreSQL assigns."""
    contract = tomllib.loads((CONTRACT_DIR / "pair_columns.toml").read_text())["columns"]
    assert tuple(c for c in contract if c != "CONFLICTID") == PAIR_COLUMNS


def test_both_pair_queries_project_the_shared_pair_columns() -> None:
    """Detect and InService write one statement of the pair projection; InService adds its window."""
    for statement in ("snowflake/detect/select_conflict_pairs.sql", "snowflake/inservice/select_pairs.sql"):
        assert "-- @include snowflake/common/pair_columns.sql" in (SF_SQL_DIR.parent / statement).read_text()
    inservice = read_sql("snowflake/inservice/select_pairs.sql")
    final = inservice[inservice.rindex("\nSELECT\n") : inservice.rindex("\nFROM pair_flag f")]
    assert tuple(re.findall(r' AS "([^"]+)",?\n', final + "\n")) == INSERVICE_PAIR_COLUMNS


def test_pair_columns_are_conflictvisitmaps_columns() -> None:
    """The output names are the PostgreSQL column names, without CONFLICTID (assigned in PostgreSQL)."""
    ddl = (PG_MIGRATIONS_DIR / "0001_conflict_tables.sql").read_text()
    cvm = ddl[ddl.index("CREATE TABLE conflictvisitmaps") : ddl.index("CREATE TABLE conflicts")]
    columns = set(re.findall(r'^\s+"(\w+)"', cvm, re.MULTILINE))
    assert len(PAIR_COLUMNS) == len(set(PAIR_COLUMNS)) == 205
    assert set(PAIR_COLUMNS) <= columns
    assert "CONFLICTID" not in PAIR_COLUMNS


def test_chunk_of_matches_the_sql_definition() -> None:
    """The chunk hash: first four hex digits of MD5(ssn) as an integer, modulo the chunk count."""
    assert chunk_of("123-45-6789", 1) == 0
    # md5("123-45-6789") = 1e87489a...: 0x1e87 = 7815
    assert chunk_of("123-45-6789", 1000) == 7815 % 1000
    assert {chunk_of(f"000-00-{n:04d}", 8) for n in range(200)} == set(range(8))


class _ArrowCursor:
    """A cursor that serves results the way the real connector's fetch_arrow_batches does."""

    def __init__(self, tables: list[pa.Table]) -> None:
        self.tables = tables
        self.fetchmany_called = False

    def fetch_arrow_batches(self, force_microsecond_precision: bool = False) -> Any:
        return iter(self.tables)

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        self.fetchmany_called = True
        return []


def test_arrow_batches_are_rebatched_and_converted() -> None:
    """Real Snowflake path: Arrow chunks of any size become batches of batch_size Python tuples, with
    decimals as ints (scale 0) or floats."""
    from decimal import Decimal

    def table(start: int, n: int) -> pa.Table:
        return pa.table(
            {
                "id": pa.array([Decimal(i) for i in range(start, start + n)], pa.decimal128(38, 0)),
                "miles": pa.array([Decimal("1.25")] * n, pa.decimal128(10, 2)),
                "flag": pa.array(["Y"] * n),
            }
        )

    cur = _ArrowCursor([table(0, 3), table(3, 4), table(7, 1)])
    batches = list(common.stream_rows(cur, 3))
    assert [len(b) for b in batches] == [3, 3, 2]
    assert batches[0][0] == (0, 1.25, "Y") and isinstance(batches[0][0][0], int)
    assert [r[0] for b in batches for r in b] == list(range(8))
    assert not cur.fetchmany_called


def test_fetchmany_is_used_without_arrow() -> None:
    """Emulation path: no fetch_arrow_batches, so rows come through fetchmany."""
    rows = [[(1, "a"), (2, "b")], [(3, "c")], []]
    cur = SimpleNamespace(fetchmany=lambda size: rows.pop(0))
    assert list(common.stream_rows(cur, 2)) == [[(1, "a"), (2, "b")], [(3, "c")]]


def test_mph_bands_are_ranked_and_the_last_is_open() -> None:
    """D7: bands ranked by (From, To, mph); only the last in that order covers longer distances."""
    rows = common.mph_band_rows([(5.0, 10.0, 15.0), (0.0, 2.0, 2.0), (2.0, 5.0, 6.0)])
    assert [(r["band_rank"], r["lo"], r["is_last"]) for r in rows] == [
        (0, 0.0, False),
        (1, 2.0, False),
        (2, 5.0, True),
    ]
    assert common.mph_band_rows([]) == []


def test_non_pyformat_connection_is_refused() -> None:
    """A connection with server-side binding cannot run %(name)s statements: refuse with the fix."""
    conn = SimpleNamespace(_paramstyle="qmark")
    scope = common.SourceScope(
        window_start=date(2024, 1, 1),
        window_end=date(2024, 2, 1),
        cutoff=datetime(2024, 1, 15, tzinfo=UTC),
        chunk=None,
        chunks=1,
    )
    with pytest.raises(common.SourceQueryError, match="pyformat"):
        plan.count_skipped_rows(conn, scope, [])


def test_business_day_bounds_follow_the_zone_across_daylight_saving() -> None:
    """D1: a visit falls on business day d exactly when d's first instant <= "Visit Date" < the next
    day's first instant in the business zone; the day that springs forward is 23 hours long."""
    start, end = common.business_day_bounds(date(2024, 3, 10), "America/New_York")
    assert (start, end) == (datetime(2024, 3, 10, 5, tzinfo=UTC), datetime(2024, 3, 11, 4, tzinfo=UTC))
    assert common.business_day_bounds(date(2024, 3, 11), "America/New_York")[0] == end


def test_visit_date_ranges_cover_every_day_in_at_most_the_slots() -> None:
    """The ranges a scope's row search binds hold every day of the scope (consecutive days in one
    range), never more ranges than the statement has slots, merging the closest ranges first."""
    day = date(2026, 11, 1)
    days = [day, day + timedelta(days=1), day + timedelta(days=2), day + timedelta(days=40), date(2025, 1, 1)]
    ranges = common.visit_date_ranges(days, "America/New_York")
    bounds = {d: common.business_day_bounds(d, "America/New_York") for d in days}
    assert ranges == [
        (bounds[date(2025, 1, 1)][0], bounds[date(2025, 1, 1)][1]),
        (bounds[day][0], bounds[day + timedelta(days=2)][1]),
        (bounds[day + timedelta(days=40)][0], bounds[day + timedelta(days=40)][1]),
    ]
    scattered = [day + timedelta(days=3 * n + n * n) for n in range(20)]
    merged = common.visit_date_ranges(scattered, "America/New_York", limit=4)
    assert len(merged) == 4
    for d in scattered:
        start, end = common.business_day_bounds(d, "America/New_York")
        assert any(lo <= start and end <= hi for lo, hi in merged), d
    # The widest gaps are the ones kept open.
    assert merged[-1][0] == common.business_day_bounds(scattered[-1], "America/New_York")[0]
    assert common.visit_date_ranges([], "America/New_York") == []


def test_unused_range_slots_are_empty() -> None:
    """Every slot of common/visit_date_ranges.sql is bound; the unused ones hold no instant."""
    scope = common.SourceScope(date(2024, 1, 1), date(2024, 2, 1), datetime(2024, 1, 15, tzinfo=UTC), 0, 1)
    params = common.scope_row_params(scope, [date(2024, 1, 5)])
    assert params["date_range_start_0"] < params["date_range_end_0"]
    for i in range(1, common.DATE_RANGES):
        assert params[f"date_range_start_{i}"] == params[f"date_range_end_{i}"]
    text = read_sql("snowflake/common/visit_date_ranges.sql")
    assert set(re.findall(r"%\((date_range_\w+)\)s", text)) == {
        k for k in params if k.startswith("date_range_")
    }
