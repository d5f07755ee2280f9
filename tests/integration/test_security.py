"""Secrets never leak, hostile names and values are refused or quoted, TLS is the AWS default.

Known fake secret values are handed to a run the way an operator hands real ones (the DSN's password,
the Snowflake secret through the environment); every place they could surface is then scanned: the
logs (JSON at debug level), the printed report, the report files, the ledger's rows and the errors."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from devkit.emulation import create_source_schema, release_emulation
from visit_conflicts import cli, observability
from visit_conflicts.secrets import RDS_CA_BUNDLE, postgres_dsn
from visit_conflicts.source.connection import connect_source

PG_SECRET = "PG-Secret-Value-7f3a"
SF_SECRET = "SF-Secret-Value-91c2"


@pytest.fixture
def source(source_dir: Path) -> Path:
    conn = connect_source(source_dir)
    create_source_schema(conn)
    conn.close()
    return source_dir


@pytest.fixture(autouse=True)
def quiet_logs() -> object:
    yield
    observability.set_format("human")
    observability.set_level("WARNING")


def _ledger_text(pg: psycopg.Connection) -> str:
    runs = pg.execute("SELECT json_agg(r)::text FROM pipeline_run r").fetchone()
    steps = pg.execute("SELECT json_agg(s)::text FROM pipeline_run_step s").fetchone()
    return f"{runs}{steps}"


def test_secret_values_appear_nowhere(
    source: Path,
    pg: psycopg.Connection,
    pg_server_dsn: str,
    schema: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A successful run with a password in its DSN, then a run whose Snowflake secret (with a password)
    cannot connect: the values are in no log line, report, report file, ledger row or error."""
    dsn_with_password = f"{pg_server_dsn}?password={PG_SECRET}"  # the test server trusts; libpq sends it
    reports = tmp_path / "reports"
    common = ["--log-format", "json", "--log-level", "debug", "run", "--pg-dsn", dsn_with_password]
    common += ["--schema", schema, "--report-dir", str(reports), "--no-progress", "--chunks", "1"]
    assert cli.main([*common, "--source-dir", str(source)]) == 0

    release_emulation()  # the emulation patches the connector process-wide: the next run must be real
    monkeypatch.setenv(
        "VC_SECRET_SNOWFLAKE",
        json.dumps({"account": "acme-test", "user": "pipeline", "password": SF_SECRET, "login_timeout": 2}),
    )
    assert cli.main(common) == 2  # the source cannot be reached: refused before any write
    captured = capsys.readouterr()
    assert "cannot connect to the Snowflake source" in captured.err

    places = {
        "stdout": captured.out,
        "stderr": captured.err,
        "ledger": _ledger_text(pg),
        "report files": "".join(p.read_text() for p in reports.iterdir()),
    }
    for place, text in places.items():
        assert text, place
        assert PG_SECRET not in text, f"the PostgreSQL password leaked into the {place}"
        assert SF_SECRET not in text, f"the Snowflake password leaked into the {place}"


@pytest.mark.parametrize(
    "schema_name",
    ['conflict"; DROP TABLE settings; --', "Conflict_Dev", "a" * 64, "1abc", "pg_catalog.x"],
)
def test_hostile_schema_names_are_refused_before_any_database_is_touched(
    schema_name: str, source: Path, pg_server_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """D3: a schema name is a lower-case identifier or it is refused, in one line, for every command."""
    run = ["run", "--source-dir", str(source), "--pg-dsn", pg_server_dsn, "--schema", schema_name]
    assert cli.main(run) == 2
    assert cli.main(["db", "migrate", "--pg-dsn", pg_server_dsn, "--schema", schema_name]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 2 and "Traceback" not in err


def test_hostile_parameter_values_are_bound_or_refused(
    source: Path, pg: psycopg.Connection, pg_server_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Values reach SQL only as bound parameters or quoted identifiers: a job name made of SQL changes
    nothing but the lookup (a job that does not exist); an identifier parameter that is not an
    identifier is refused (D3)."""
    args = [
        "run",
        "--source-dir",
        str(source),
        "--pg-dsn",
        pg_server_dsn,
        "--schema",
        schema,
        "--no-progress",
    ]
    hostile_view = {"materialized_view_name": 'mv"; DROP TABLE settings; --'}
    assert cli.main([*args, "--params", json.dumps(hostile_view)]) == 2
    assert "materialized_view_name" in capsys.readouterr().err
    hostile_job = {"pg_cron_job_name": "x'); DROP TABLE settings; --", "chunks": 1}
    assert cli.main([*args, "--params", json.dumps(hostile_job)]) == 0
    assert "pg_cron: skipped" in capsys.readouterr().out
    assert pg.execute("SELECT count(*) FROM settings").fetchone() is not None  # still there
    assert pg.execute("SELECT to_regclass('mv_payer_conflicts_common') IS NOT NULL").fetchone() == (True,)


def test_tls_verify_full_against_the_rds_bundle_is_the_aws_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """In AWS the PostgreSQL connection checks the server's name and certificate (verify-full, RDS CA
    bundle); locally TLS is preferred, not required; a secret can say otherwise."""
    secret = {"host": "db.example.internal", "username": "pipeline", "password": "x"}
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("ECS_CONTAINER_METADATA_URI_V4", raising=False)
    assert "sslmode=prefer" in postgres_dsn(secret)
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/task")
    in_aws = postgres_dsn(secret)
    assert "sslmode=verify-full" in in_aws and f"sslrootcert={RDS_CA_BUNDLE}" in in_aws
    assert "sslmode=disable" in postgres_dsn({**secret, "sslmode": "disable"})
