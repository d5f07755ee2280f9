"""Where the project's non-Python files live (SQL, config), resolved from the package location."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
PG_SQL_DIR = SQL_DIR / "postgres"
PG_MIGRATIONS_DIR = PG_SQL_DIR / "migrations"
SF_SQL_DIR = SQL_DIR / "snowflake"
CONFIG_DIR = PROJECT_ROOT / "config"
LOCAL_DIR = PROJECT_ROOT / ".local"


def read_sql(relative: str) -> str:
    """The text of `sql/<relative>`; a missing file is a packaging error worth a clear message.

    A line `-- @include <path>` (relative to `sql/`) is replaced by that file's text, so statements of
    different steps can share a block of CTEs written once (sql/snowflake/common/). Includes nest; a
    cycle is an error.
    """
    return _read_sql(relative, ())


_INCLUDE = re.compile(r"^[ \t]*-- @include[ \t]+(\S+)[ \t]*$", re.MULTILINE)


def _read_sql(relative: str, including: tuple[str, ...]) -> str:
    if relative in including:
        raise ValueError(f"SQL include cycle: {' -> '.join((*including, relative))}")
    path = SQL_DIR / relative
    if not path.exists():
        raise FileNotFoundError(f"SQL file {path} is missing from the project")
    text = path.read_text()
    return _INCLUDE.sub(lambda m: _read_sql(m.group(1), (*including, relative)).rstrip("\n"), text)
