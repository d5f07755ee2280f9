"""`-- @include` in SQL files (visit_conflicts/sql_files.read_sql): shared CTEs written once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from visit_conflicts import paths, sql_files


def test_include_line_is_replaced_by_the_file_and_nests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "inner.sql").write_text("inner AS (SELECT 1)\n")
    (tmp_path / "common" / "outer.sql").write_text("outer AS (SELECT 2),\n  -- @include common/inner.sql\n")
    (tmp_path / "q.sql").write_text("WITH\n-- @include common/outer.sql\nSELECT 3\n")
    monkeypatch.setattr(paths, "SQL_DIR", tmp_path)
    assert sql_files.read_sql("q.sql") == "WITH\nouter AS (SELECT 2),\ninner AS (SELECT 1)\nSELECT 3\n"


def test_include_only_as_a_whole_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "-- see `-- @include x.sql` for why\nSELECT 1 -- @include x.sql\n"
    (tmp_path / "q.sql").write_text(text)
    monkeypatch.setattr(paths, "SQL_DIR", tmp_path)
    assert sql_files.read_sql("q.sql") == text


def test_include_cycle_and_missing_file_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.sql").write_text("-- @include b.sql\n")
    (tmp_path / "b.sql").write_text("-- @include a.sql\n")
    (tmp_path / "c.sql").write_text("-- @include nowhere.sql\n")
    monkeypatch.setattr(paths, "SQL_DIR", tmp_path)
    with pytest.raises(ValueError, match=re.escape("a.sql -> b.sql -> a.sql")):
        sql_files.read_sql("a.sql")
    with pytest.raises(FileNotFoundError, match=re.escape("nowhere.sql")):
        sql_files.read_sql("c.sql")


def test_detect_and_inservice_share_the_visit_attribute_ctes() -> None:
    """One statement of the dimension joins and visit attributes for both pair kinds."""
    shared = sql_files.read_sql("snowflake/common/visit_attributes.sql").strip()
    for statement in ("snowflake/detect/select_conflict_pairs.sql", "snowflake/inservice/create_visits.sql"):
        assert "-- @include snowflake/common/visit_attributes.sql" in (paths.SQL_DIR / statement).read_text()
        assert shared in sql_files.read_sql(statement)
