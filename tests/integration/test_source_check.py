"""`visit-conflicts source check` and its compatibility probes, run against the Snowflake emulation (the
real account is reached only by operators; docs/source-check.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.source_rows import SourceRows, at
from visit_conflicts import cli
from visit_conflicts.columns import PAIR_COLUMNS
from visit_conflicts.source.check import PIPELINE_STATEMENTS, PROBES, run_probe, run_source_check
from visit_conflicts.source.connection import connect_source
from visit_conflicts.store.arrow_copy import column_types
from visit_conflicts.store.reference import load_reference_data

DAY = date(2024, 5, 15)
CUTOFF = datetime(2024, 5, 10, tzinfo=UTC)
ZONE = "America/New_York"
# One caregiver booked at 34 agencies at once: 34 x 33 ordered pairs, more than one result chunk of the
# emulation (1,000 rows), so the pair stream joins chunks.
AGENCIES = 34


@pytest.fixture
def conn(source_dir: Path) -> Iterator[Any]:
    connection = connect_source(source_dir)
    try:
        yield connection
    finally:
        connection.close()


def _busy_day(conn: Any) -> None:
    src = SourceRows(conn)
    for _ in range(AGENCIES):
        provider = src.provider()
        src.visit(provider=provider, caregiver=src.caregiver("123-45-6789"), sch=(at(9), at(13)))
    src.flush()


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_probe_gives_the_recorded_emulation_answer(conn: Any, probe: Any) -> None:
    """The constructs the statements rely on answer on the emulation as recorded: REGEXP_LIKE matches
    whole texts (D23 id checks), LEAST/GREATEST are NULL with a NULL argument (D14 overlap), the
    business-zone conversion on both DST days and the UTC session (D1), DATEDIFF counts boundaries (D7
    minute gap), NULLS ordering of the D8 picks, FLATTEN of the loaded lists, the guarded id and
    coordinate reading (D6, D23), ROUND (D7), MD5 of the chunk hash. A new sqlglot or fakesnow that
    translates one of them differently fails here. Where Snowflake is documented to answer otherwise
    (TRY_CAST of hex and digit groups, CAST of a TIMESTAMP_TZ to NTZ, CONVERT_TIMEZONE of an NTZ), the
    difference is recorded, and the pipeline's SQL avoids the construct."""
    cur = conn.cursor()
    try:
        got = run_probe(cur, probe)
    finally:
        cur.close()
    assert got == probe.emulation
    if probe.snowflake is not None:
        assert probe.snowflake != probe.emulation


def test_source_check_passes_on_the_emulation_and_joins_result_chunks(
    conn: Any, pg: psycopg.Connection
) -> None:
    """The smoke test's own code, end to end on the emulation with the target's reference data and
    column types (D13: every pair is read; the pair stream joins several result chunks of the pair
    query)."""
    _busy_day(conn)
    report = run_source_check(
        conn,
        engine="emulation",
        day=DAY,
        time_zone=ZONE,
        cutoff=CUTOFF,
        chunks=1,
        chunk=0,
        batch_size=997,
        ref=load_reference_data(pg),
        cvm_types=column_types(pg, "conflictvisitmaps", PAIR_COLUMNS),
    )
    assert report.ok, report.text()
    assert report.facts["pairs"] == AGENCIES * (AGENCIES - 1)
    assert report.facts["pair_result_chunks"] >= 2
    sections = {f.section for f in report.findings}
    assert sections == {"schema", "statements", "probes"}
    every = next(f for f in report.findings if f.subject == "every statement, in pipeline order")
    assert every.detail.startswith(f"{len(PIPELINE_STATEMENTS)} of {len(PIPELINE_STATEMENTS)} ran")
    assert "conflictvisitmaps types" in next(f.detail for f in report.findings if f.subject == "detect pairs")


@pytest.mark.parametrize("target", [False, True], ids=["built-in reference", "target"])
def test_source_check_command_reports_and_exits(
    conn: Any,
    source_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pg_server_dsn: str,
    schema: str,
    target: bool,
) -> None:
    """`visit-conflicts source check --source-dir`: the report on stdout and as JSON, exit code 0 when
    every check passed. With --target the pair schema comes from the target's conflictvisitmaps types
    and the reference data from its tables (read only); without, from the pair query's result
    metadata and the built-in reference data."""
    _busy_day(conn)
    out = tmp_path / "check.json"
    argv = ["source", "check", "--source-dir", str(source_dir), "--day", DAY.isoformat()]
    argv += ["--since", CUTOFF.isoformat(), "--chunks", "1", "--json", str(out)]
    if target:
        argv += ["--target", "--pg-dsn", pg_server_dsn, "--schema", schema]
    assert cli.main(argv) == 0
    assert "source check on emulation: PASSED" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["ok"] and data["facts"]["pairs"] == AGENCIES * (AGENCIES - 1)
    pairs = next(f["detail"] for f in data["findings"] if f["subject"] == "detect pairs")
    assert ("conflictvisitmaps types" if target else "result metadata") in pairs
    assert data["facts"]["reference_data"].startswith("the target's" if target else "built-in")


def test_source_check_without_credentials_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It runs only when credentials are given: without them (and without --source-dir), exit 2 with
    what to set, before any connection."""
    for key in [k for k in os.environ if k.startswith(("VC_SECRET_SNOWFLAKE", "VC_SNOWFLAKE_"))]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    assert cli.main(["source", "check", "--env", "local"]) == 2
    assert "runs only when Snowflake credentials are given" in capsys.readouterr().err


def test_source_check_fails_on_a_schema_difference(conn: Any) -> None:
    """D23's configuration errors stop before any write; the check finds them first: a source column
    of another type or a missing column fails, naming it; a column the pipeline never reads is only
    listed."""
    _busy_day(conn)
    cur = conn.cursor()
    try:
        cur.execute('ALTER TABLE DIMUSER ADD COLUMN "User Email" VARCHAR')
        cur.execute("DROP TABLE DIMOFFICE")
        cur.execute(
            'CREATE TABLE DIMOFFICE ("Office Id" VARCHAR, "Application Office Id" VARCHAR, '
            '"Is Active" BOOLEAN)'
        )
    finally:
        cur.close()
    report = run_source_check(
        conn, engine="emulation", day=DAY, time_zone=ZONE, cutoff=CUTOFF, chunks=1, chunk=0
    )
    assert not report.ok
    schema = {f.subject: f for f in report.findings if f.section == "schema"}
    office, user = schema["DIMOFFICE"], schema["DIMUSER"]
    assert not office.ok and "missing: Office Name" in office.detail
    assert "Application Office Id is VARCHAR, the contract says NUMBER(38,0)" in office.detail
    assert user.ok and "not read by the pipeline: User Email" in user.detail
    # The statements that read the missing column fail, and say so; the others still ran.
    failed = {f.subject for f in report.findings if f.section == "statements" and not f.ok}
    assert "detect pairs" in failed and "preflight" not in failed
