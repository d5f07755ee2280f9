"""Many detect chunks writing at once (16 on small data): no deadlock, never two parent conflicts for one
primary visit (D10), and not a pair lost or added compared with a single chunk (D4, D9)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.table_content import table_content
from devkit.emulation import release_emulation
from devkit.generate import generate
from tests.support.schemas import migrated_schema
from visit_conflicts.config import Params
from visit_conflicts.local_runner import run_pipeline
from visit_conflicts.step_api import Resources
from visit_conflicts.store.db import connect

NOW = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


def _run(dsn: str, tmp: Path, chunks: int) -> dict[str, Any]:
    release_emulation()
    with migrated_schema(dsn) as schema:
        with connect(dsn, schema) as conn:
            generate(tmp / "source", conn, scale=0.001, seed=31, anchor=NOW)
            conn.commit()
        res = Resources(pg_dsn=dsn, schema=schema, source_dir=tmp / "source")
        params = Params.model_validate(
            {"chunks": chunks, "workers": chunks, "batch_size": 50, "target": {"schema": schema}}
        )
        outcome = run_pipeline(res, params, now=NOW)
        with psycopg.connect(dsn) as conn:
            content = table_content(conn, schema)
        with connect(dsn, schema) as conn:
            two_parents = conn.execute(
                """SELECT "VisitID" FROM conflictvisitmaps WHERE "CONFLICTID" IS NOT NULL
                   GROUP BY "VisitID" HAVING count(DISTINCT "CONFLICTID") > 1"""
            ).fetchall()
            orphans = conn.execute(
                'SELECT count(*) FROM conflictvisitmaps WHERE "CONFLICTID" IS NULL'
            ).fetchone()
    release_emulation()
    return {"outcome": outcome, "content": content, "two_parents": two_parents, "orphans": orphans}


@pytest.mark.parametrize("chunks", [16])
def test_sixteen_chunks_at_once_give_the_single_chunk_result(
    pg_server_dsn: str, tmp_path: Path, chunks: int
) -> None:
    many = _run(pg_server_dsn, tmp_path / "many", chunks)
    one = _run(pg_server_dsn, tmp_path / "one", 1)
    assert many["outcome"].ok, many["outcome"].text
    detect = [s for s in many["outcome"].report["steps"] if s["step"] == "detect"]
    assert len(detect) == chunks and all(s["status"] == "succeeded" and s["attempt"] == 1 for s in detect)
    assert many["two_parents"] == [] and many["orphans"] == (0,)
    for table in ("conflictvisitmaps", "conflicts"):
        assert many["content"][table]["rows"] == one["content"][table]["rows"] > 0
        assert many["content"][table]["sha256"] == one["content"][table]["sha256"]
