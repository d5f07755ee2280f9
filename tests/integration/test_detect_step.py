"""Issue-level behaviour of plan -> detect -> finalize on generated data with planted cases (D4-D13)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from devkit.generate import generate
from tests.support.source_rows import pair_rows
from visit_conflicts.columns import FLAG_COLUMNS, PAIR_COLUMNS
from visit_conflicts.config import Params
from visit_conflicts.local_runner import RunOutcome, run_pipeline
from visit_conflicts.source.common import SourceScope, pair_arrow_schema
from visit_conflicts.source.connection import connect_source
from visit_conflicts.source.detect import iter_pair_tables
from visit_conflicts.step_api import Resources
from visit_conflicts.store.arrow_copy import column_types
from visit_conflicts.store.db import connect
from visit_conflicts.store.migrate import migrate
from visit_conflicts.store.reference import load_reference_data

SCALE = 0.0002
STEPS = ["plan", "detect", "finalize"]


@pytest.fixture
def generated(source_dir: Path, pg: psycopg.Connection) -> dict[str, Any]:
    anchor = datetime.fromisoformat("2026-11-27T06:00:00-05:00")
    manifest = generate(source_dir, pg, scale=SCALE, seed=5, anchor=anchor)
    pg.commit()
    return {"manifest": manifest, "anchor": anchor}


def _run(res: Resources, now: datetime, tmp_path: Path, **overrides: Any) -> RunOutcome:
    params = Params(steps=STEPS, **overrides)
    outcome = run_pipeline(res, params, now=now, report_dir=tmp_path / "reports")
    assert outcome.ok, outcome.text
    return outcome


def _pairs(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[str, ...]]:
    flags = sql.SQL(", ").join(map(sql.Identifier, FLAG_COLUMNS))
    rows = conn.execute(
        sql.SQL(
            'SELECT "VisitID"::text, "ConVisitID"::text, {}, "StatusFlag" FROM conflictvisitmaps '
            'WHERE "InServiceFlag" = %s'
        ).format(flags),
        ("N",),
    ).fetchall()
    conn.commit()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_planted_cases_produce_exactly_their_pairs_and_flags(
    generated: dict[str, Any],
    pg_server_dsn: str,
    schema: str,
    source_dir: Path,
    pg: psycopg.Connection,
    tmp_path: Path,
) -> None:
    """D4-D8 end to end: every planted case yields exactly its ordered pairs (both orientations) with
    exactly its 'Y' flags; excluded, inactive, cross-state-dropped and bad rows yield none (D23)."""
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
    outcome = _run(res, generated["anchor"], tmp_path, chunks=3)
    stored = _pairs(pg)
    checked = 0
    for name, case in generated["manifest"]["cases"].items():
        expect = case.get("expect", {})
        if "pairs" not in expect:
            continue
        visits = {str(v) for v in case.get("roles", {}).values() if isinstance(v, str)}
        want = {(p["visit"], p["con_visit"]): set(p["flags"]) for p in expect["pairs"]}
        got = {k: v for k, v in stored.items() if k[0] in visits and k[1] in visits}
        assert set(got) == set(want), f"{name}: pairs {sorted(got)} != expected {sorted(want)}"
        for key, flags in want.items():
            yes = {f for f, value in zip(FLAG_COLUMNS, got[key][:7], strict=True) if value == "Y"}
            assert yes == flags, f"{name}: {key} flags {yes} != {flags}"
        checked += 1
    assert checked >= 40
    detect = [s for s in outcome.report["steps"] if s["step"] == "detect"]
    # D13: the report's counts are the database's changes.
    assert sum(s["counts"]["inserted"] for s in detect) == len(stored)
    parents = pg.execute("SELECT count(*) FROM conflicts").fetchone()
    assert parents is not None and sum(s["counts"]["new_conflicts"] for s in detect) == parents[0]
    # D23 counted, not fatal, and once per run: by plan, not by the chunks.
    plan = [s for s in outcome.report["steps"] if s["step"] == "plan"]
    assert len(plan) == 1 and plan[0]["counts"]["skipped_blank_ssn"] >= 1
    assert not any(k.startswith(("skipped_blank", "noted_")) for s in detect for k in s["counts"])


def test_one_and_seven_chunks_give_the_same_pairs(
    generated: dict[str, Any],
    pg_server_dsn: str,
    schema: str,
    source_dir: Path,
    pg: psycopg.Connection,
    tmp_path: Path,
) -> None:
    """Chunking by SSN hash partitions the scope: 1 and 7 chunks write identical pairs."""
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
    _run(res, generated["anchor"], tmp_path, chunks=1)
    one = _pairs(pg)
    other = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_dsn) as conn:
        migrate(conn, other)
    with connect(pg_server_dsn, schema) as src, connect(pg_server_dsn, other) as dst:
        for table in ("settings", "mph", "excluded_ssn", "excluded_agency"):
            rows = src.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))).fetchall()
            dst.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            if rows:
                marks = sql.SQL(", ").join(sql.Placeholder() * len(rows[0]))
                with dst.cursor() as cur:
                    cur.executemany(
                        sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE VALUES ({})").format(
                            sql.Identifier(table), marks
                        ),
                        rows,
                    )
        dst.commit()
    try:
        res7 = Resources(pg_dsn=pg_server_dsn, schema=other, source_dir=source_dir)
        _run(res7, generated["anchor"], tmp_path, chunks=7, workers=3)
        with connect(pg_server_dsn, other) as conn:
            seven = _pairs(conn)
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(other)))
    assert one and one == seven


def test_second_identical_run_writes_nothing(
    generated: dict[str, Any],
    pg_server_dsn: str,
    schema: str,
    source_dir: Path,
    pg: psycopg.Connection,
    tmp_path: Path,
) -> None:
    """D11: a rerun over unchanged sources leaves every row version as it was."""
    res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
    _run(res, generated["anchor"], tmp_path, chunks=2)
    before = pg.execute('SELECT "ID", xmin::text FROM conflictvisitmaps ORDER BY 1').fetchall()
    pg.commit()
    second = _run(res, generated["anchor"] + timedelta(minutes=5), tmp_path, chunks=2)
    after = pg.execute('SELECT "ID", xmin::text FROM conflictvisitmaps ORDER BY 1').fetchall()
    assert before and before == after
    detect = [s["counts"] for s in second.report["steps"] if s["step"] == "detect"]
    assert sum(c["inserted"] + c["updated"] for c in detect) == 0
    assert sum(c["unchanged"] for c in detect) == len(before)


def test_arrow_and_row_streams_carry_the_same_pairs(
    generated: dict[str, Any], source_dir: Path, pg: psycopg.Connection
) -> None:
    """The bulk (Arrow) path used by detect and the row path yield the same pairs."""
    anchor = generated["anchor"]
    scope = SourceScope(
        window_start=anchor.date().replace(year=anchor.year - 2),
        window_end=anchor.date() + timedelta(days=45),
        cutoff=anchor - timedelta(hours=36),
        chunk=None,
        chunks=1,
    )
    ref = load_reference_data(pg)
    conn = connect_source(source_dir)
    try:
        rows = [r for batch in pair_rows(conn, scope, ref, 50) for r in batch]
        schema = pair_arrow_schema(column_types(pg, "conflictvisitmaps", PAIR_COLUMNS))
        tables = list(iter_pair_tables(conn, scope, 50, schema))
    finally:
        conn.close()
    assert all(t.num_rows <= 50 and t.schema.equals(schema) for t in tables)
    from_arrow = [tuple(r.values()) for t in tables for r in t.to_pylist()]
    assert rows and len(from_arrow) == len(rows)
    key = lambda r: (str(r[4]), str(r[9]))  # noqa: E731 - VisitID, ConVisitID positions
    assert sorted(map(key, from_arrow)) == sorted(map(key, rows))
