"""D12 on the real server: finalize resolves the open pairs of the run's scope that the run did not
produce, and refuses after a partial detection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.support.pairs import DAY, NOW, pair, row, vid, writer
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.step_api import Resources
from visit_conflicts.steps import finalize as finalize_step
from visit_conflicts.store import ledger


def _finalize(pg_server_dsn: str, schema: str, run_id: str, chunks: int, statuses: dict[int, str]) -> Any:
    params = Params(chunks=chunks)
    res = Resources(pg_dsn=pg_server_dsn, schema=schema)
    ctx = RunContext.create(params, now=datetime(2026, 11, 27, 14, tzinfo=UTC), run_id=run_id)
    with res.pg_conn(autocommit=True) as conn:
        ledger.start_run(conn, ctx, params, steps=["plan", "detect", "finalize"], full_run=True)
        for chunk, status in statuses.items():
            ledger.step_started(conn, run_id, "detect", chunk)
            ledger.step_finished(conn, run_id, "detect", chunk=chunk, status=status)
    return finalize_step.run(res, ctx, params)


def _scope(pg: psycopg.Connection, run_id: str, ssn: str = "111-22-3333") -> None:
    pg.execute(
        'INSERT INTO run_scope_group (run_id, chunk, "VisitDate", "SSN") VALUES (%s, 0, %s, %s)',
        (run_id, DAY, ssn),
    )
    pg.commit()


def test_stale_cleanup_resolves_only_unproduced_open_pairs(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str
) -> None:
    """D12: in-scope N/U pairs not produced become 'R'; produced pairs, 'W'/'I'/'D'/'R' and other
    groups are untouched; a reverse-orientation row produced by the run is not resolved (D4)."""
    a, b, c, d, e, f = (vid() for _ in range(6))
    w = writer(pg, run_id="old")
    w.write_batch([pair(a, b), pair(b, a), pair(c, d), pair(e, f), pair(f, e, ssn="999-99-9999")], now=NOW)
    pg.execute("""UPDATE conflictvisitmaps SET "StatusFlag" = 'W' WHERE "VisitID" = %s""", (e,))
    pg.commit()
    # This run produces a->b and b->a only; c->d and e->f are not produced; f->e is another group.
    run_writer = writer(pg, run_id="run-2")
    run_writer.write_batch([pair(a, b), pair(b, a)], now=NOW)
    _scope(pg, "run-2")
    result = _finalize(pg_server_dsn, schema, "run-2", 1, {0: "succeeded"})
    pg.commit()
    assert result.counts["resolved"] == 1
    assert row(pg, c, d)["StatusFlag"] == "R" and row(pg, c, d)["ResolveDate"] is not None
    assert row(pg, a, b)["StatusFlag"] == "N" and row(pg, b, a)["StatusFlag"] == "N"
    assert row(pg, e, f)["StatusFlag"] == "W"
    assert row(pg, f, e)["StatusFlag"] == "N"


def test_finalize_refuses_after_failed_or_missing_chunk(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str
) -> None:
    """D12: never run stale cleanup after a partial detection."""
    a, b = vid(), vid()
    writer(pg, run_id="old").write_batch([pair(a, b)], now=NOW)
    _scope(pg, "run-f")
    with pytest.raises(finalize_step.FinalizeRefused, match=r"chunk 1: failed, chunk 2: missing"):
        _finalize(pg_server_dsn, schema, "run-f", 3, {0: "succeeded", 1: "failed"})
    assert row(pg, a, b)["StatusFlag"] == "N"


@pytest.mark.parametrize(
    ("status", "resolves"), [("N", True), ("U", True), ("W", False), ("I", False), ("D", False), ("R", False)]
)
def test_stale_cleanup_resolves_n_and_u_only(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str, status: str, resolves: bool
) -> None:
    """D12: an in-scope pair the run did not produce becomes 'R' when it is 'N' or 'U'; 'W', 'I', 'D'
    and 'R' are left exactly as they were."""
    a, b = vid(), vid()
    writer(pg, run_id="old").write_batch([pair(a, b)], now=NOW)
    pg.execute('UPDATE conflictvisitmaps SET "StatusFlag" = %s', (status,))
    pg.commit()
    before = row(pg, a, b)
    _scope(pg, "run-s")
    result = _finalize(pg_server_dsn, schema, "run-s", 1, {0: "succeeded"})
    after = row(pg, a, b)
    assert result.counts["resolved"] == (1 if resolves else 0)
    if resolves:
        assert after["StatusFlag"] == "R" and after["ResolveDate"] is not None
    else:
        assert {k: v for k, v in after.items() if k != "xmin"} == {
            k: v for k, v in before.items() if k != "xmin"
        }
        assert after["xmin"] == before["xmin"]  # not even rewritten


def test_stale_cleanup_keeps_an_existing_resolve_date(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str
) -> None:
    """D12: ResolveDate = COALESCE(ResolveDate, now): a stale 'U' pair that already carries a resolve date
    keeps it."""
    a, b = vid(), vid()
    writer(pg, run_id="old").write_batch([pair(a, b)], now=NOW)
    earlier = datetime(2026, 10, 1, 8, 30)
    pg.execute("""UPDATE conflictvisitmaps SET "StatusFlag" = 'U', "ResolveDate" = %s""", (earlier,))
    pg.commit()
    _scope(pg, "run-k")
    _finalize(pg_server_dsn, schema, "run-k", 1, {0: "succeeded"})
    after = row(pg, a, b)
    assert after["StatusFlag"] == "R" and after["ResolveDate"] == earlier
