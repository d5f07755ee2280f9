"""PostgreSQL side of the plan step: the run's scope groups in the ledger-side table `run_scope_group`.

Keyed by run id and chunk, so the detect chunks (`iter_chunk_groups`) and finalize (possibly other
processes) read the same scope. Statements: `sql/postgres/plan/`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date

import psycopg

from visit_conflicts.sql_files import read_sql

ScopeBatch = list[tuple[date, str, int]]


def replace_scope_groups(
    conn: psycopg.Connection,
    run_id: str,
    batches: Iterable[ScopeBatch],
    *,
    chunks: Collection[int],
    on_batch: Callable[[], None],
) -> None:
    """Replace the run's scope with the (visit date, SSN, chunk) groups of `batches` whose chunk is one
    of `chunks`, in one transaction, and refresh the planner statistics of the scope table."""
    with conn.transaction():
        conn.execute(read_sql("postgres/plan/forget_scope_groups.sql"), {"run_id": run_id})
        with conn.cursor() as cur, cur.copy(read_sql("postgres/plan/copy_scope_groups.sql")) as copy:
            for batch in batches:
                on_batch()
                for visit_date, ssn, chunk in batch:
                    if chunk in chunks:
                        copy.write_row((run_id, chunk, visit_date, ssn))
    conn.execute("ANALYZE run_scope_group")
    conn.commit()


def count_scope_groups(conn: psycopg.Connection, run_id: str) -> dict[str, int]:
    """The run's scope size: groups, distinct SSNs and distinct visit dates (measured, D13)."""
    row = conn.execute(read_sql("postgres/plan/count_scope_groups.sql"), {"run_id": run_id}).fetchone()
    conn.commit()
    assert row is not None
    return {"groups": int(row[0]), "ssns": int(row[1]), "dates": int(row[2])}


def iter_chunk_groups(
    conn: psycopg.Connection, run_id: str, chunk: int, batch_size: int
) -> Iterator[tuple[date, str]]:
    """The (visit date, SSN) groups plan recorded for one chunk of the run, read through a server-side
    cursor in batches of `batch_size` (a chunk of a bulk refresh holds many groups)."""
    with conn.transaction(), conn.cursor(name=f"chunk_groups_{chunk}") as cur:
        cur.itersize = batch_size
        cur.execute(read_sql("postgres/plan/select_chunk_groups.sql"), {"run_id": run_id, "chunk": chunk})
        yield from cur
