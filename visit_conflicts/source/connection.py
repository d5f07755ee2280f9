"""Connections to the Snowflake source.

Production connects with key-pair auth through `snowflake-connector-python`, credentials from the
`snowflake` secret. Locally and in CI the same connector API is served by the Snowflake emulation of the
development kit (`devkit.emulation`), reached only when a run is given a source directory: the container
images do not carry it.

Every connection starts by setting its session time zone to UTC
(`sql/snowflake/connection/set_session_time_zone.sql`), so no answer depends on the account's or the
user's default zone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visit_conflicts.sql_files import read_sql

SOURCE_DATABASE = "ANALYTICS"
SOURCE_SCHEMA = "BI"


class SourceError(RuntimeError):
    """The Snowflake source (or its emulation) is unusable; the message says what to fix."""


def connect_source(
    source_dir: Path | None = None,
    *,
    database: str = SOURCE_DATABASE,
    schema: str = SOURCE_SCHEMA,
    credentials: dict[str, Any] | None = None,
) -> Any:
    """A connector connection to the source: emulated when `source_dir` is given, else real Snowflake."""
    if source_dir is not None:
        try:
            from devkit.emulation import connect_emulated
        except ImportError:
            raise SourceError(
                "a source directory needs the Snowflake emulation of the development kit (devkit), "
                "which this installation lacks; in AWS the source is real Snowflake (no source directory)"
            ) from None
        conn = connect_emulated(Path(source_dir), database=database, schema=schema)
    else:
        if not credentials:
            raise SourceError("no Snowflake credentials: set the snowflake secret or pass --source-dir")
        import snowflake.connector

        conn = snowflake.connector.connect(database=database, schema=schema, **credentials)
    set_session_time_zone(conn)
    return conn


def set_session_time_zone(conn: Any) -> None:
    """The session works in UTC (the statement says why); the emulation, always UTC, skips it."""
    cur = conn.cursor()
    try:
        cur.execute(read_sql("snowflake/connection/set_session_time_zone.sql"))
    finally:
        cur.close()
