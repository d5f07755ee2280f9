"""The Snowflake source tables (`ANALYTICS.BI`) as DDL, for the local emulation.

In production these are views that the pipeline only reads. Locally the generator (and any other tool that
writes a `--source-dir`) creates them from `sql/snowflake/schema/<table>.sql`, one file per table, with the
exact quoted column names and Snowflake types of the legacy data model (`devkit.emulation`).
`source_columns` parses those files so that writers and tests share one statement of the column list.
"""

from __future__ import annotations

import re
from functools import cache

from visit_conflicts.sql_files import read_sql

SOURCE_TABLES: tuple[str, ...] = (
    "FACTVISITCALLPERFORMANCE_CR",
    "FACTVISITCALLPERFORMANCE_DELETED_CR",
    "FACTCAREGIVERINSERVICE",
    "DIMCAREGIVER",
    "DIMPROVIDER",
    "DIMOFFICE",
    "DIMPATIENT",
    "DIMPATIENTADDRESS",
    "DIMPAYER",
    "DIMCONTRACT",
    "DIMSERVICECODE",
    "DIMUSER",
    "DIMPAYERPROVIDER",
)

_COLUMN_RE = re.compile(r'^\s*"([^"]+)"\s+([A-Z_]+(?:\(\d+(?:,\d+)?\))?)\s*,?\s*$')


def source_ddl(table: str) -> str:
    """The CREATE TABLE statement of one source table."""
    if table not in SOURCE_TABLES:
        raise KeyError(f"{table!r} is not a source table; known: {', '.join(SOURCE_TABLES)}")
    return read_sql(f"snowflake/schema/{table.lower()}.sql")


@cache
def source_columns(table: str) -> tuple[tuple[str, str], ...]:
    """(column name, Snowflake type) of `table`, in DDL order, parsed from its schema file."""
    columns = []
    for line in source_ddl(table).splitlines():
        m = _COLUMN_RE.match(line)
        if m:
            columns.append((m.group(1), m.group(2)))
    if not columns:
        raise ValueError(f"no columns parsed from sql/snowflake/schema/{table.lower()}.sql")
    return tuple(columns)
