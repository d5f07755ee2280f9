"""Writes generated rows: Arrow tables into the Snowflake emulation, reference rows into PostgreSQL.

Source rows go through the connector's `write_pandas` (Arrow-backed frames, no per-row Python), so any
Snowflake-compatible target would accept them. The PostgreSQL reference tables are replaced wholesale
(TRUNCATE ... RESTART IDENTITY), so a rerun leaves the same rows with the same ids.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa

from devkit.generate.cases import EXTRA_DISTANCE_PER, MPH_BANDS
from visit_conflicts.source.connection import SOURCE_DATABASE, SOURCE_SCHEMA
from visit_conflicts.source.schema import SOURCE_TABLES


def write_source_rows(conn: Any, table: str, rows: pa.Table) -> int:
    """Append `rows` (columns named as in the source DDL) to `table`; returns the rows written."""
    if rows.num_rows == 0:
        return 0
    # Imported here: the emulation replaces write_pandas when it is first activated (connect_source).
    from snowflake.connector.pandas_tools import write_pandas

    frame = rows.to_pandas(types_mapper=pd.ArrowDtype)
    ok, _, written, _ = write_pandas(
        conn,
        frame,
        table,
        database=SOURCE_DATABASE,
        schema=SOURCE_SCHEMA,
        quote_identifiers=True,
        use_logical_type=True,
    )
    if not ok or written != rows.num_rows:
        raise RuntimeError(f"write_pandas into {table} wrote {written} of {rows.num_rows} rows")
    return int(written)


def count_source_rows(conn: Any) -> dict[str, int]:
    cur = conn.cursor()
    try:
        counts = {}
        for table in SOURCE_TABLES:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = int(cur.fetchone()[0])
        return counts
    finally:
        cur.close()


def write_reference_tables(
    pg_conn: psycopg.Connection,
    *,
    excluded_ssns: list[str],
    excluded_agencies: list[tuple[str, str, int]],
) -> dict[str, int]:
    """Replace `mph`, `excluded_ssn`, `excluded_agency` and set settings."ExtraDistancePer" (row "ID" = 0).

    Uses the connection's search_path (the target schema). Generator-only SQL, so it stays next to the code
    that owns the data instead of in the pipeline's `sql/` tree.
    """
    with pg_conn.transaction(), pg_conn.cursor() as cur:
        cur.execute(
            'INSERT INTO settings ("ID", "ExtraDistancePer") VALUES (0, %s) '
            'ON CONFLICT ("ID") DO UPDATE SET "ExtraDistancePer" = EXCLUDED."ExtraDistancePer"',
            (EXTRA_DISTANCE_PER,),
        )
        cur.execute("TRUNCATE mph, excluded_ssn, excluded_agency RESTART IDENTITY")
        cur.executemany(
            'INSERT INTO mph ("TYPE", "From", "To", "AverageMilesPerHour") VALUES (%s, %s, %s, %s)',
            [("MPH", lo, hi, mph) for lo, hi, mph in MPH_BANDS],
        )
        with cur.copy('COPY excluded_ssn ("SSN") FROM STDIN') as copy:
            for ssn in excluded_ssns:
                copy.write_row((ssn,))
        cur.executemany(
            'INSERT INTO excluded_agency ("AgencyName", "ProviderID", "AppProviderID") VALUES (%s, %s, %s)',
            excluded_agencies,
        )
    return {
        "settings": 1,
        "mph": len(MPH_BANDS),
        "excluded_ssn": len(excluded_ssns),
        "excluded_agency": len(excluded_agencies),
    }
