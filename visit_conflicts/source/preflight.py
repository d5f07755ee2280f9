"""Snowflake side of the preflight step: every source table the pipeline reads answers a probe
(`sql/snowflake/preflight/probe_table.sql`), so a missing table or grant stops the run before any write
(D23)."""

from __future__ import annotations

from typing import Any

from visit_conflicts.sql_files import read_sql

# The source tables whose absence makes a run impossible (the dimensions are joined, not required).
REQUIRED_SOURCE_TABLES = (
    "FACTVISITCALLPERFORMANCE_CR",
    "FACTVISITCALLPERFORMANCE_DELETED_CR",
    "FACTCAREGIVERINSERVICE",
)


class SourceTableUnreadable(RuntimeError):
    """A required source table does not answer; the message says which and what to check."""


def check_source_tables(sf_conn: Any) -> None:
    """Probe every required source table; raise `SourceTableUnreadable` for the first that fails."""
    cur = sf_conn.cursor()
    try:
        for table in REQUIRED_SOURCE_TABLES:
            try:
                # The names are this module's constants, quoted as Snowflake identifiers.
                cur.execute(read_sql("snowflake/preflight/probe_table.sql").format(table=f'"{table}"'))
                cur.fetchall()
            except Exception as exc:
                raise SourceTableUnreadable(
                    f"Snowflake source table {table} is not readable ({str(exc).splitlines()[0]}); "
                    "check the source database/schema and the role's grants"
                ) from None
    finally:
        cur.close()
