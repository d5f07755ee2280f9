"""Operator messages of the command line: an expected refusal (a bad parameter, a missing table, a run
already active) prints one clear line and exits non-zero; logs are human lines on a terminal and JSON with
`--log-format json` (as in AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devkit.emulation import create_source_schema
from tests.support.runs import NOW
from visit_conflicts import cli, observability
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.ownership import holding_run_lock, local_owner
from visit_conflicts.source.connection import connect_source
from visit_conflicts.store import ledger


@pytest.fixture
def source(source_dir: Path) -> Path:
    conn = connect_source(source_dir)
    create_source_schema(conn)
    conn.close()
    return source_dir


@pytest.fixture(autouse=True)
def human_logs() -> Iterator[None]:
    """The logger is process-wide: every test starts and ends with the terminal's defaults."""
    yield
    observability.set_format("human")
    observability.set_level("WARNING")


def _run(source: Path, dsn: str, schema: str, *extra: str) -> int:
    return cli.main(["run", "--source-dir", str(source), "--pg-dsn", dsn, "--schema", schema, *extra])


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_missing_table_is_refused_in_one_line(
    source: Path, pg_server_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """D23: a schema without the conflict tables stops the run before any write, saying what to do."""
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute("CREATE SCHEMA IF NOT EXISTS empty_schema")
    assert _run(source, pg_server_dsn, "empty_schema") == 2
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert line.startswith("error: run refused:") and "db migrate --schema empty_schema" in line
    assert captured.out == ""


def test_bad_parameter_is_refused_in_one_line(
    source: Path, pg_server_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """D3: an invalid override names the key, in one line, before any database is touched."""
    assert _run(source, pg_server_dsn, schema, "--params", '{"chunks": 0, "nonsense": 1}') == 2
    line = _one_line(capsys.readouterr().err)
    assert "chunks" in line and "nonsense: unknown key" in line


def test_active_run_is_refused_in_one_line(
    source: Path, pg: psycopg.Connection, pg_server_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """D20: a run while another is alive is refused with the other's id and what to do."""
    params = Params(chunks=1)
    with holding_run_lock(pg_server_dsn, schema, "busy"):
        ledger.start_run(
            pg, RunContext.create(params, now=NOW, run_id="busy"), params, steps=[], full_run=True
        )
        ledger.record_owner(pg, "busy", local_owner(schema, "busy").to_json(), None)
        assert _run(source, pg_server_dsn, schema) == 2
    line = _one_line(capsys.readouterr().err)
    assert "busy" in line and "refused" in line and "unlock busy" in line


def test_human_lines_by_default_and_json_on_request(
    source: Path, pg_server_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Locally the logs are human lines (the step in front, no JSON); --log-format json gives one JSON
    object per line, carrying the run id and the step, as in AWS."""
    args = ["run", "--source-dir", str(source), "--pg-dsn", pg_server_dsn, "--schema", schema]
    args += ["--chunks", "1", "--no-progress"]
    assert cli.main(["--log-level", "info", *args]) == 0
    human = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert any(" INFO plan step started" in line for line in human), human
    assert not any(line.lstrip().startswith("{") for line in human)
    assert cli.main(["--log-format", "json", "--log-level", "info", *args]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines and all("run_id" in line for line in lines)
    assert {"step started", "step finished"} <= {line["message"] for line in lines}
