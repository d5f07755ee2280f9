"""PostgreSQL side of the plan step: the run's scope groups in the ledger-side table `run_scope_group`,
and the run's chunk plan.

Keyed by run id and chunk, so the detect chunks and finalize (possibly other processes) read the same
scope. When plan decides the chunk count from the delta (parameter `chunks` unset), the groups are
recorded with their hash bucket first (`HASH_BUCKETS` chunks), counted, and then given their chunk
(bucket % count) in the same transaction. The decided count is plan's step result `chunk_count` in the
ledger; `chunk_plan` is how detect, finalize and the engines read it; detect reads its chunk's groups with
`iter_chunk_groups`. Statements: `sql/postgres/plan/`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import psycopg

from visit_conflicts.config import Params
from visit_conflicts.sql_files import read_sql

ScopeBatch = list[tuple[date, str, int]]


class ChunkPlanMissing(RuntimeError):
    """A chunked step runs before plan decided the chunk count; the message says what to do."""


@dataclass(frozen=True)
class ChunkPlan:
    """How a run's delta is split: `count` chunks by SSN hash, of which the run detects `chunks`."""

    count: int
    chunks: list[int]


def replace_scope_groups(
    conn: psycopg.Connection,
    run_id: str,
    batches: Iterable[ScopeBatch],
    *,
    wanted: Collection[int] | None,
    chunk_count: Callable[[int], int],
    on_batch: Callable[[], None],
) -> int:
    """Replace the run's scope with the groups of `batches`, in one transaction, refresh the planner
    statistics of the scope table, and return the chunk count.

    With `wanted`, each batch row is (visit date, SSN, chunk) under a fixed count and only the wanted
    chunks are kept. Without it, each row carries its hash bucket instead of a chunk; every group is
    kept, the count is `chunk_count(groups)`, and each group gets the chunk bucket % count.
    """
    groups = 0
    with conn.transaction():
        conn.execute(read_sql("postgres/plan/forget_scope_groups.sql"), {"run_id": run_id})
        with conn.cursor() as cur, cur.copy(read_sql("postgres/plan/copy_scope_groups.sql")) as copy:
            for batch in batches:
                on_batch()
                for visit_date, ssn, chunk in batch:
                    if wanted is None or chunk in wanted:
                        copy.write_row((run_id, chunk, visit_date, ssn))
                        groups += 1
        count = chunk_count(groups)
        if wanted is None:
            conn.execute(read_sql("postgres/plan/assign_chunks.sql"), {"run_id": run_id, "chunks": count})
    conn.execute("ANALYZE run_scope_group")
    conn.commit()
    return count


def count_scope_groups(conn: psycopg.Connection, run_id: str) -> dict[str, int]:
    """The run's scope size: groups, distinct SSNs and distinct visit dates (measured, D13)."""
    row = conn.execute(read_sql("postgres/plan/count_scope_groups.sql"), {"run_id": run_id}).fetchone()
    conn.commit()
    assert row is not None
    return {"groups": int(row[0]), "ssns": int(row[1]), "dates": int(row[2])}


def chunk_plan(conn: psycopg.Connection, run_id: str, params: Params) -> ChunkPlan:
    """The run's chunk plan: the fixed `chunks` parameter, else the count plan recorded in the ledger
    for this run; the run detects the requested `chunk_subset`, else every chunk."""
    count = params.chunks
    if count is None:
        row = conn.execute(read_sql("postgres/plan/select_chunk_count.sql"), {"run_id": run_id}).fetchone()
        if not conn.autocommit:
            conn.commit()
        count = int(row[0]) if row and row[0] is not None else None
    if count is None:
        raise ChunkPlanMissing(
            f"run {run_id} has no chunk count: plan decides it and has not succeeded in this run; "
            "run plan first, or give `chunks` (the count of the run being repeated)"
        )
    chunks = sorted(params.chunk_subset) if params.chunk_subset is not None else list(range(count))
    return ChunkPlan(count=count, chunks=chunks)


def iter_chunk_groups(
    conn: psycopg.Connection, run_id: str, chunk: int, batch_size: int
) -> Iterator[tuple[date, str]]:
    """The (visit date, SSN) groups plan recorded for one chunk of the run, read through a server-side
    cursor in batches of `batch_size` (a chunk of a bulk refresh holds many groups)."""
    with conn.transaction(), conn.cursor(name=f"chunk_groups_{chunk}") as cur:
        cur.itersize = batch_size
        cur.execute(read_sql("postgres/plan/select_chunk_groups.sql"), {"run_id": run_id, "chunk": chunk})
        yield from cur
