"""D23, the bad-input catalogue (`generate --bad-input`): every kind of bad source data is skipped (or its
bad value ignored) and counted by reason in the step result and the report; none aborts the run or leaves
a partial pair, and the good data gives exactly the conflicts it gives without the catalogue."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devkit.emulation import release_emulation
from devkit.generate import generate
from tests.support.schemas import migrated_schema
from visit_conflicts.config import Params
from visit_conflicts.local_runner import RunOutcome, run_pipeline
from visit_conflicts.step_api import Resources
from visit_conflicts.store.db import connect

NOW = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
SCALE = 0.0005


def _generate_and_run(dsn: str, tmp: Path, *, bad_input: bool) -> tuple[RunOutcome, dict[str, Any], str]:
    release_emulation()
    with migrated_schema(dsn) as schema, connect(dsn, schema) as conn:
        manifest = generate(tmp / "source", conn, scale=SCALE, seed=23, anchor=NOW, bad_input=bad_input)
        conn.commit()
        res = Resources(pg_dsn=dsn, schema=schema, source_dir=tmp / "source")
        params = Params.model_validate({"chunks": 2, "workers": 1, "target": {"schema": schema}})
        outcome = run_pipeline(res, params, now=NOW)
        pairs = {
            (str(v), str(c)): status
            for v, c, status in conn.execute(
                'SELECT "VisitID", "ConVisitID", "StatusFlag" FROM conflictvisitmaps'
            )
        }
    release_emulation()
    return outcome, {"manifest": manifest, "pairs": pairs}, schema


def _counters(outcome: RunOutcome) -> dict[tuple[str, str], int]:
    totals: Counter[tuple[str, str]] = Counter()
    for step in outcome.report["steps"]:
        for key, value in step["counts"].items():
            if isinstance(value, int) and key.startswith(("skipped_", "noted_")):
                totals[(step["step"], key)] += value
    return dict(totals)


@pytest.fixture(scope="module")
def runs(pg_server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    clean, clean_data, _ = _generate_and_run(pg_server_dsn, tmp_path_factory.mktemp("clean"), bad_input=False)
    dirty, dirty_data, _ = _generate_and_run(pg_server_dsn, tmp_path_factory.mktemp("dirty"), bad_input=True)
    return {"clean": clean, "dirty": dirty, "clean_pairs": clean_data["pairs"], **dirty_data}


def test_catalogue_has_at_least_twelve_kinds(runs: dict[str, Any]) -> None:
    kinds = {entry["kind"] for entry in runs["manifest"]["bad_input"]}
    assert len(kinds) >= 12


def test_no_kind_aborts_the_run(runs: dict[str, Any]) -> None:
    assert runs["clean"].ok and runs["dirty"].ok, runs["dirty"].text


def test_each_kind_is_counted_by_its_reason(runs: dict[str, Any]) -> None:
    """The catalogue moves each counter by exactly what it planted, in the step that meets the data;
    the report carries the same counts."""
    expected: Counter[tuple[str, str]] = Counter()
    for entry in runs["manifest"]["bad_input"]:
        expected[(entry["step"], entry["counter"])] += entry["count"]
    clean, dirty = _counters(runs["clean"]), _counters(runs["dirty"])
    moved = {key: dirty.get(key, 0) - clean.get(key, 0) for key in {*clean, *dirty}}
    assert {key: n for key, n in moved.items() if n} == dict(expected)
    for (step, counter), _ in expected.items():
        assert f"{counter}=" in runs["dirty"].text, (step, counter)


def test_good_data_gives_the_same_conflicts_and_no_pair_is_partial(runs: dict[str, Any]) -> None:
    """Every pair of the run without the catalogue is there with the same status; a skipped bad visit
    is in no pair, nor is its good partner; a used one (a bad value ignored, a duplicate row) is in
    whole pairs with its partner."""
    pairs: dict[tuple[str, str], str] = runs["pairs"]
    assert {k: v for k, v in pairs.items() if k in runs["clean_pairs"]} == runs["clean_pairs"]
    for entry in runs["manifest"]["bad_input"]:
        good, bad = entry["visits"][0], entry["visits"][1]
        involved = [k for k in pairs if bad.lower() in k or good.lower() in k]
        if entry["conflicts"]:
            assert set(involved) == {(good, bad), (bad, good)}, entry["kind"]
        else:
            assert involved == [], entry["kind"]
    extra = set(pairs) - set(runs["clean_pairs"])
    catalogue = {v.lower() for e in runs["manifest"]["bad_input"] for v in e["visits"]}
    assert all(v in catalogue and c in catalogue for v, c in extra)
