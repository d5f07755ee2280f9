"""Snowflake side of the staging step: the payer dimensions copied into PostgreSQL (D17).

Both queries return plain text rows (ids unvalidated): PostgreSQL validates, deduplicates and upserts
them (`visit_conflicts.store.staging`), so every skip is counted in one place (D23).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from visit_conflicts.sql_files import APP_ID_PATTERN, read_sql


def iter_payer_providers(sf_conn: Any, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """DIMPROVIDER x DIMPAYERPROVIDER x DIMPAYER rows, in batches: (payer_id, app_payer_id, contract,
    provider_id, app_provider_id, provider_name), the shape `store.staging.sync_payer_provider_reminders`
    takes."""
    yield from _select(sf_conn, "select_payer_providers", batch_size)


def iter_payers(sf_conn: Any, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """DIMPAYER rows, in batches: (payer_id, app_payer_id, payer_name, is_active, is_demo), the shape
    `store.staging.sync_payers` takes."""
    yield from _select(sf_conn, "select_payers", batch_size)


def _select(sf_conn: Any, name: str, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    cur = sf_conn.cursor()
    try:
        cur.execute(read_sql(f"snowflake/staging/{name}.sql"), {"app_id_pattern": APP_ID_PATTERN})
        while rows := cur.fetchmany(batch_size):
            yield [tuple(r) for r in rows]
    finally:
        cur.close()
