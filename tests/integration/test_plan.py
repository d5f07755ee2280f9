"""The plan step (D1, D2, D4, D23): the run's delta groups are recorded with their chunk, only for the
chunks the run will detect, and a rerun replaces the scope instead of adding to it; the chunk count
follows the delta (issue 13) and is what detect and finalize read (D12); the unusable source rows are
counted once, by plan; detect reads the scope plan recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.source_rows import CUTOFF, OLD, WINDOW_END, WINDOW_START, SourceRows
from visit_conflicts import local_runner
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.common import chunk_of
from visit_conflicts.source.connection import connect_source
from visit_conflicts.step_api import Resources
from visit_conflicts.step_runner import run_step
from visit_conflicts.steps import plan
from visit_conflicts.store import ledger
from visit_conflicts.store.plan import ChunkPlanMissing, chunk_plan

CHUNKS = 4


def _context(run_id: str) -> RunContext:
    return RunContext(
        run_id=run_id,
        now=datetime(2024, 5, 13, 6, 0, tzinfo=UTC),
        run_date=WINDOW_END,
        window_start=WINDOW_START,
        window_end=WINDOW_END,
        cutoff=CUTOFF,
        watermark=None,
        business_timezone="America/New_York",
    )


def _scope(pg: psycopg.Connection, run_id: str) -> list[tuple[str, int]]:
    return sorted(
        (str(ssn), int(chunk))
        for ssn, chunk in pg.execute(
            'SELECT "SSN", chunk FROM run_scope_group WHERE run_id = %s', (run_id,)
        ).fetchall()
    )


def test_plan_records_the_delta_groups_of_the_planned_chunks_only(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str, source_dir: Path
) -> None:
    """Groups with a visit updated since the cutoff are in scope with chunk = chunk_of(SSN); groups
    whose visits are all older are not; a chunk_subset keeps only its chunks (stale cleanup must never
    reach groups no chunk looked at); the counts are measured (D13)."""
    conn = connect_source(source_dir)
    src = SourceRows(conn)
    provider = src.provider()
    ssns = [f"100-00-{n:04d}" for n in range(40)]
    for ssn in ssns:
        src.visit(provider=provider, caregiver=src.caregiver(ssn))
    src.visit(provider=provider, caregiver=src.caregiver("999-00-0000"), updated=OLD)
    src.flush()
    conn.close()
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)

    everything = plan.run(res, _context("all"), Params(chunks=CHUNKS))
    assert _scope(pg, "all") == sorted((ssn, chunk_of(ssn, CHUNKS)) for ssn in ssns)
    scope_counts = {k: v for k, v in everything.counts.items() if not k.startswith(("skipped_", "noted_"))}
    assert scope_counts == {"groups": 40, "ssns": 40, "dates": 1, "chunks": CHUNKS, "chunk_count": CHUNKS}

    subset = [1, 3]
    some = plan.run(res, _context("some"), Params(chunks=CHUNKS, chunk_subset=subset))
    expected = sorted((ssn, chunk_of(ssn, CHUNKS)) for ssn in ssns if chunk_of(ssn, CHUNKS) in subset)
    assert _scope(pg, "some") == expected and 0 < len(expected) < 40
    assert some.counts["groups"] == len(expected) and some.counts["chunks"] == 2


def test_rerunning_plan_replaces_the_scope(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str, source_dir: Path
) -> None:
    """Rerun safety: a second plan of the same run leaves the same scope, not twice the rows."""
    conn = connect_source(source_dir)
    src = SourceRows(conn)
    provider = src.provider()
    for n in range(5):
        src.visit(provider=provider, caregiver=src.caregiver(f"200-00-{n:04d}"))
    src.flush()
    conn.close()
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
    plan.run(res, _context("again"), Params(chunks=2))
    first = _scope(pg, "again")
    plan.run(res, _context("again"), Params(chunks=2))
    assert _scope(pg, "again") == first and len(first) == 5


def test_plan_decides_the_chunk_count_from_the_delta_and_the_run_reads_it(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str, source_dir: Path
) -> None:
    """Without a fixed `chunks`, plan gives one chunk per target_groups_per_chunk groups, at most
    max_chunks; every group gets chunk_of(SSN, count); the count is plan's step result in the ledger,
    which is the run's chunk plan for detect and finalize (D12 checks exactly those chunks)."""
    conn = connect_source(source_dir)
    src = SourceRows(conn)
    provider = src.provider()
    ssns = [f"300-00-{n:04d}" for n in range(25)]
    for ssn in ssns:
        src.visit(provider=provider, caregiver=src.caregiver(ssn))
    src.flush()
    conn.close()
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
    for run_id, target, cap, expected in (("quiet", 100, 8, 1), ("spread", 10, 8, 3), ("capped", 2, 5, 5)):
        params = Params(target_groups_per_chunk=target, max_chunks=cap)
        ctx = _context(run_id)
        ledger.start_run(pg, ctx, params, steps=["plan"], full_run=False)
        with pytest.raises(ChunkPlanMissing, match="plan decides it"):
            chunk_plan(pg, run_id, params)
        result = run_step(res, ctx, params, "plan")
        assert (result.counts["chunk_count"], result.counts["chunks"]) == (expected, expected)
        assert _scope(pg, run_id) == sorted((ssn, chunk_of(ssn, expected)) for ssn in ssns)
        assert chunk_plan(pg, run_id, params).chunks == list(range(expected))
        ledger.finish_run(pg, run_id, status="succeeded")


def test_plan_counts_unusable_rows_once_for_the_planned_chunks(
    pg_server_dsn: str, schema: str, source_dir: Path
) -> None:
    """D23 once per run: plan counts the unusable rows of the scope per reason (detect chunks count
    nothing), those of the planned chunks only: a chunk_subset leaves the other chunks' rows out, and a
    row without an SSN belongs to chunk 0."""
    conn = connect_source(source_dir)
    src = SourceRows(conn)
    provider = src.provider()
    ssns = [f"300-00-{n:04d}" for n in range(8)]
    for ssn in ssns:
        caregiver = src.caregiver(ssn)
        src.visit(provider=provider, caregiver=caregiver)
        src.visit(provider=provider, caregiver=caregiver, visit_id=f"bad-{ssn}")
    src.visit(provider=provider, caregiver=src.caregiver("  "))
    src.flush()
    conn.close()
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)

    everything = plan.run(res, _context("all"), Params(chunks=CHUNKS))
    assert (everything.counts["skipped_invalid_visit_id"], everything.counts["skipped_blank_ssn"]) == (8, 1)
    subset = [1, 3]
    in_subset = sum(1 for ssn in ssns if chunk_of(ssn, CHUNKS) in subset)
    assert 0 < in_subset < len(ssns)
    some = plan.run(res, _context("some"), Params(chunks=CHUNKS, chunk_subset=subset))
    assert (some.counts["skipped_invalid_visit_id"], some.counts["skipped_blank_ssn"]) == (in_subset, 0)


def test_detect_reads_the_scope_plan_stored(
    pg_server_dsn: str,
    schema: str,
    source_dir: Path,
    pg: psycopg.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """detect evaluates the groups plan recorded for the run (run_scope_group), not a delta of its own:
    a group that changes after plan ran is left to the next run, so detect's scope is exactly the one
    finalize cleans up. A run without plan computes the chunk's groups itself and counts its unusable
    rows, as before."""
    conn = connect_source(source_dir)
    src = SourceRows(conn)
    p1, p2 = src.provider(), src.provider()
    first = [src.visit(provider=p, caregiver=src.caregiver("400-00-0001")) for p in (p1, p2)]
    src.flush()
    later: list[str] = []
    original = plan.run

    def plan_then_a_change(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        later.extend(src.visit(provider=p, caregiver=src.caregiver("400-00-0002")) for p in (p1, p2))
        src.visit(provider=p1, caregiver=src.caregiver("400-00-0002"), visit_id="bad-late")
        src.flush()
        return result

    monkeypatch.setattr(plan, "run", plan_then_a_change)
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
    now = datetime(2024, 5, 13, 6, 0, tzinfo=UTC)
    with_plan = local_runner.run_pipeline(res, Params(chunks=2, steps=["plan", "detect"]), now=now)
    assert with_plan.ok, with_plan.text
    assert _pairs(pg) == {(first[0], first[1]), (first[1], first[0])}
    monkeypatch.setattr(plan, "run", original)
    conn.close()

    without_plan = local_runner.run_pipeline(res, Params(chunks=2, steps=["detect"]), now=now)
    assert without_plan.ok, without_plan.text
    assert _pairs(pg) == {
        (first[0], first[1]),
        (first[1], first[0]),
        (later[0], later[1]),
        (later[1], later[0]),
    }
    detect_steps = [s for s in without_plan.report["steps"] if s["step"] == "detect"]
    assert sum(s["counts"]["skipped_invalid_visit_id"] for s in detect_steps) == 1


def _pairs(pg: psycopg.Connection) -> set[tuple[str, str]]:
    rows = pg.execute('SELECT "VisitID"::text, "ConVisitID"::text FROM conflictvisitmaps').fetchall()
    pg.commit()
    return {(str(v), str(c)) for v, c in rows}
