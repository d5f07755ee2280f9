"""Where the project's non-Python files live (SQL, config), resolved from the package location."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
PG_SQL_DIR = SQL_DIR / "postgres"
PG_MIGRATIONS_DIR = PG_SQL_DIR / "migrations"
SF_SQL_DIR = SQL_DIR / "snowflake"
CONFIG_DIR = PROJECT_ROOT / "config"
LOCAL_DIR = PROJECT_ROOT / ".local"


def read_sql(relative: str) -> str:
    """The text of `sql/<relative>`; a missing file is a packaging error worth a clear message."""
    path = SQL_DIR / relative
    if not path.exists():
        raise FileNotFoundError(f"SQL file {path} is missing from the project")
    return path.read_text()
