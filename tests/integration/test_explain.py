"""`visit-conflicts explain` on generated data after a run: its rule evaluation agrees with the pairs the
pipeline stored and with the development kit's oracle (`devkit.rules`) on every planted case; the
command, its JSON, its refusals, the conflict_event history section and the explain Lambda.

One dataset and one run serve the whole module (the expensive part), in a schema and an emulation
directory of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devkit import rules
from devkit.emulation import release_emulation
from devkit.generate import Manifest, generate
from functions import explain as explain_fn
from tests.support.schemas import migrated_schema
from visit_conflicts import cli
from visit_conflicts.config import Params
from visit_conflicts.explain import ExplainRefused, explain, explain_visits
from visit_conflicts.explain_rules import FLAG_NAMES
from visit_conflicts.local_runner import run_pipeline
from visit_conflicts.step_api import Resources
from visit_conflicts.store.db import connect
from visit_conflicts.store.reference import load_reference_data

ANCHOR = datetime.fromisoformat("2026-11-27T06:00:00-05:00")
SCALE = 0.0002
# A planted rule-7 case: distance 12.75 mi, band [10, 25) at 25 mph, ETA 30.60 min, gap 30 min.
RULE7 = "rule7_distance_just_above_eta"


@dataclass
class Generated:
    res: Resources
    params: Params
    manifest: Manifest
    dsn: str
    schema: str
    source_dir: Path


@pytest.fixture(scope="module")
def generated(pg_server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    source_dir = tmp_path_factory.mktemp("explain") / "snowflake"
    source_dir.mkdir()
    release_emulation()
    with migrated_schema(pg_server_dsn) as schema:
        with connect(pg_server_dsn, schema) as pg:
            manifest = generate(source_dir, pg, scale=SCALE, seed=5, anchor=ANCHOR)
            pg.commit()
        res = Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)
        params = Params.model_validate(
            {"steps": ["plan", "detect", "finalize"], "chunks": 2, "target": {"schema": schema}}
        )
        outcome = run_pipeline(res, params, now=ANCHOR, report_dir=source_dir.parent / "reports")
        assert outcome.ok, outcome.text
        yield Generated(res, params, manifest, pg_server_dsn, schema, source_dir)
    release_emulation()


def _uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _oracle_visit(vid: str, values: dict[str, Any]) -> rules.Visit:
    """The oracle's view of a visit from the raw source values explain reports: coordinates by the
    oracle's own D6 parsing, states as the source holds them (the oracle maps them itself)."""
    point = rules.visit_coordinates(
        values["call_out_gps"], values["call_in_gps"], values["addr_lat"], values["addr_lon"]
    )

    def at(key: str) -> datetime | None:
        return datetime.fromisoformat(values[key]) if values[key] else None

    return rules.Visit(
        visit_id=vid,
        provider_id=values["provider_id"],
        sch_start=at("sch_start"),
        sch_end=at("sch_end"),
        visit_start=at("visit_start"),
        visit_end=at("visit_end"),
        latitude=point[0] if point else None,
        longitude=point[1] if point else None,
        patient_state=values["patient_state"],
        payer_patient_state=values["payer_patient_state"],
        provider_state=values["provider_state"],
    )


def test_explain_agrees_with_the_stored_pairs_and_the_oracle_on_every_planted_case(
    generated: Generated,
) -> None:
    """Rules 1-7 and the cross-state filter (D4-D7) as explain evaluates them equal devkit.rules (flags,
    distance, speed, ETA, gap) on every ordered pair of every planted case's group, and equal the stored
    pair (flags and metrics) wherever the run stored one; the pairs explain calls conflicts of a group
    the run's delta covered are exactly the stored pairs, which are exactly the manifest's."""
    planted = sorted({v for case in generated.manifest.cases.values() for v in case["visits"] if _uuid(v)})
    result = explain_visits(generated.res, generated.params, planted)
    with connect(generated.dsn, generated.schema, autocommit=True) as pg:
        ref = load_reference_data(pg)
    visits = result["visits"]
    by_key = {(p["visit_id"], p["con_visit_id"]): p for p in result["pairs"]}
    compared = 0
    for key, p in by_key.items():
        if p["evaluation"] is None or (p["stored"] and p["stored"]["inservice"]):
            continue
        v1 = _oracle_visit(key[0], visits[key[0]]["values"])
        v2 = _oracle_visit(key[1], visits[key[1]]["values"])
        evaluation = p["evaluation"]
        oracle = rules.evaluate_pair(v1, v2, ref.mph_bands, ref.extra_distance_per)
        metrics = evaluation["distance"]
        assert metrics["miles"] == rules.distance_miles(v1, v2, ref.extra_distance_per), key
        assert metrics["gap_minutes"] == rules.minute_gap(v1, v2), key
        assert evaluation["rules_conflict"] == (oracle is not None), key
        if oracle is not None:
            assert tuple(evaluation["flags"][f] for f in FLAG_NAMES) == oracle.flags, key
            assert (metrics["mph"], metrics["eta_minutes"]) == (
                oracle.average_miles_per_hour,
                oracle.eta_travel_minutes,
            ), key
        if p["stored"] is not None:
            assert p["conflict_now"], f"{key}: stored but explained as no conflict: {p['verdict']}"
            assert p["differences"] == [], f"{key}: {p['differences']}"
        elif p["conflict_now"]:
            assert not p["group_in_last_delta"], f"{key}: a conflict of a covered group, not stored"
        compared += 1
    assert compared >= 80
    stored = {k for k, p in by_key.items() if p["stored"] and not p["stored"]["inservice"]}
    for name, case in generated.manifest.cases.items():
        members = set(case["visits"])
        expected = {(e["visit"], e["con_visit"]) for e in case["expect"].get("pairs", [])}
        assert {k for k in stored if set(k) <= members} == expected, name
        for key in expected:
            assert by_key[key]["conflict_now"], f"{name}: {by_key[key]['verdict']}"
            flags = {f for f, v in by_key[key]["evaluation"]["flags"].items() if v == "Y"}
            want = next(
                set(e["flags"]) for e in case["expect"]["pairs"] if (e["visit"], e["con_visit"]) == key
            )
            assert flags == want, name


def test_explain_command_prints_a_planted_rule7_pair_with_its_numbers(
    generated: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rule 7 (D7) explained in text: the distance, the band, the ETA and the gap of the planted case
    and the stored pair that agrees; JSON carries the same evaluation; --visit lists both orientations."""
    case = generated.manifest.case(RULE7)
    v1, v2 = case["roles"]["v1"], case["roles"]["v2"]
    common = [
        "--pg-dsn",
        generated.dsn,
        "--schema",
        generated.schema,
        "--source-dir",
        str(generated.source_dir),
    ]
    assert cli.main(["explain", "--pair", v1, v2, *common]) == 0
    text = capsys.readouterr().out
    assert "CONFLICT by rule 7 DistanceFlag" in text
    assert "12.75 mi, band [10, 25) at 25 mph: ETA 30.60 min, gap 30 min: ETA > gap > 0" in text
    assert "agrees with the evaluation" in text
    assert "recorded event(s)" in text and "- -> N" in text  # the run's insert (conflict_event)
    assert cli.main(["explain", "--visit", v1, "--format", "json", *common]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {(p["visit_id"], p["con_visit_id"]) for p in data["pairs"]} == {(v1, v2), (v2, v1)}
    pair = next(p for p in data["pairs"] if (p["visit_id"], p["con_visit_id"]) == (v1, v2))
    assert pair["evaluation"]["distance"]["eta_minutes"] == 30.6
    assert pair["evaluation"]["distance"]["gap_minutes"] == 30


def test_explain_says_why_a_planted_pair_is_not_a_conflict(generated: Generated) -> None:
    """Detection.md 4 and the exclusions: the cross-state case is dropped by the filter, the excluded
    SSN case fails its exclusion check; neither is stored."""
    cases = generated.manifest.cases
    dropped = explain(generated.res, generated.params, pair=tuple(cases["cross_state_dropped"]["visits"][:2]))
    assert dropped["pairs"][0]["verdict"].startswith("NOT a conflict: dropped by the cross-state filter")
    excluded = explain(generated.res, generated.params, pair=tuple(cases["excluded_ssn"]["visits"][:2]))
    assert "SSN not excluded fails" in excluded["pairs"][0]["verdict"]
    assert all(p["stored"] is None for p in (*dropped["pairs"], *excluded["pairs"]))


def test_explain_refuses_a_bad_id_in_one_line(
    generated: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    """An expected refusal: exit 2 and one line saying what is wrong, no traceback."""
    code = cli.main(["explain", "--pair", "not-a-visit", str(uuid.uuid4()), "--pg-dsn", generated.dsn])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "is not a visit id" in err
    with pytest.raises(ExplainRefused, match="in neither FACTVISITCALLPERFORMANCE_CR"):
        explain(generated.res, generated.params, visit=str(uuid.uuid4()))


def test_explain_shows_the_pair_history_from_conflict_event(generated: Generated) -> None:
    """Issue 14 item 1: explain lists a pair's events from conflict_event (and only its own and its
    conflict's), oldest first: the run's insert, then a later resolve."""
    case = generated.manifest.case(RULE7)
    v1, v2 = case["roles"]["v1"], case["roles"]["v2"]
    with psycopg.connect(generated.dsn, autocommit=True) as pg:
        pg.execute(f"SET search_path TO {generated.schema}")
        try:
            # A later resolve of the pair and of its mirror, as finalize records them (with the pair's "ID").
            pg.execute(
                """INSERT INTO conflict_event (run_id, step, "ID", "CONFLICTID", "VisitID", "ConVisitID",
                       old_status, new_status, reason, at)
                   SELECT 'r2', 'finalize', c."ID", c."CONFLICTID", c."VisitID", c."ConVisitID", 'N', 'R',
                       'stale', '2099-01-01'
                   FROM conflictvisitmaps c
                   WHERE (c."VisitID", c."ConVisitID")
                       IN ((%(a)s::uuid, %(b)s::uuid), (%(b)s::uuid, %(a)s::uuid))""",
                {"a": v1, "b": v2},
            )
            result = explain(generated.res, generated.params, pair=(v1, v2))
        finally:
            pg.execute("DELETE FROM conflict_event WHERE run_id = 'r2'")
    history = result["pairs"][0]["history"]
    pair = [e for e in history["events"] if e["scope"] == "pair"]
    assert history["recorded"] and [e["change"] for e in pair] == ["- -> N", "N -> R"]
    assert [e["reason"] for e in pair] == ["insert (DistanceFlag)", "stale"]
    # Its parent conflict's insert is shown with it.
    assert [e["reason"] for e in history["events"] if e["scope"] == "conflict"] == ["insert (conflict)"]


class _LambdaContext:
    function_name = "explain"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:explain"
    aws_request_id = "req-explain"


def test_explain_lambda_returns_the_same_json(generated: Generated, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Lambda adapter runs the same function: the pair's JSON, and {"error"} for a bad request."""
    monkeypatch.setenv("VC_ENVIRONMENT", "local")
    monkeypatch.setenv("VC_SOURCE_DIR", str(generated.source_dir))
    monkeypatch.setenv("VC_SECRET_POSTGRES", json.dumps({"dsn": generated.dsn}))
    case = generated.manifest.case(RULE7)
    v1, v2 = case["roles"]["v1"], case["roles"]["v2"]
    params = {"target": {"schema": generated.schema}}
    out = explain_fn.handler({"pair": [v1, v2], "params": params}, _LambdaContext())
    assert out["pairs"][0]["verdict"].startswith("CONFLICT by rule 7")
    assert json.loads(json.dumps(out)) == out
    assert "error" in explain_fn.handler({"visit": "nope", "params": params}, _LambdaContext())
    assert "error" in explain_fn.handler({}, _LambdaContext())
