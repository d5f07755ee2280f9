"""Where the project's non-Python files live (SQL, config, local state), from the package location."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
PG_SQL_DIR = SQL_DIR / "postgres"
PG_MIGRATIONS_DIR = PG_SQL_DIR / "migrations"
SF_SQL_DIR = SQL_DIR / "snowflake"
CONFIG_DIR = PROJECT_ROOT / "config"
LOCAL_DIR = PROJECT_ROOT / ".local"
