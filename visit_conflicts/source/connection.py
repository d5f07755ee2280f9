"""Connections to the Snowflake source.

Production connects with key-pair auth through `snowflake-connector-python`, credentials from the
`snowflake` secret. Locally and in CI the same connector API is served by the Snowflake emulation of the
development kit (`devkit.emulation`), reached only when a run is given a source directory: the container
images do not carry it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
        return connect_emulated(Path(source_dir), database=database, schema=schema)
    if not credentials:
        raise SourceError("no Snowflake credentials: set the snowflake secret or pass --source-dir")
    import snowflake.connector

    return snowflake.connector.connect(database=database, schema=schema, **credentials)
