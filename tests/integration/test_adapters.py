"""The AWS adapters (Lambda handlers, Fargate entrypoint) drive the same steps with a small payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from containers import entrypoint
from devkit.emulation import create_source_schema
from functions import cleanup as cleanup_fn
from functions import preflight as preflight_fn
from functions import report as report_fn
from functions import restore as restore_fn
from visit_conflicts.config import ConfigError
from visit_conflicts.errors import EXIT_PERMANENT, EXIT_TRANSIENT, TransientError
from visit_conflicts.source.connection import connect_source
from visit_conflicts.store import ledger
from visit_conflicts.store.db import connect


class _LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, pg_server_dsn: str, schema: str, source_dir: Path) -> dict[str, Any]:
    conn = connect_source(source_dir)
    create_source_schema(conn)
    conn.close()
    monkeypatch.setenv("VC_ENVIRONMENT", "local")
    monkeypatch.setenv("VC_SOURCE_DIR", str(source_dir))
    monkeypatch.setenv("VC_SECRET_POSTGRES", json.dumps({"dsn": pg_server_dsn}))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")
    return {"params": {"target": {"schema": schema}, "chunks": 2}}


def _preflight(run_id: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    event = {
        "run_id": run_id,
        "execution_arn": f"arn:aws:states:::execution:vc:{run_id}",
        "input": execution_input,
    }
    out: dict[str, Any] = preflight_fn.handler(event, _LambdaContext())
    return out


def test_payload_flows_through_handlers_and_entrypoint(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, pg_server_dsn: str, schema: str
) -> None:
    """The state machine carries ids, the context and overrides only; every step records to the ledger."""
    out = _preflight("exec-1", env)
    assert out["chunks"] == [0, 1] and out["run_id"] == "exec-1"
    assert "dsn" not in json.dumps(out) and pg_server_dsn not in json.dumps(out)
    payload = {"run_id": "exec-1", "context": out["context"], "params": out["params"]}
    monkeypatch.setenv("VC_PAYLOAD", json.dumps(payload))
    assert entrypoint.main(["plan"]) == 0
    assert entrypoint.main(["detect", "--chunk", "0"]) == 0
    assert entrypoint.main(["detect", "--chunk", "1"]) == 0
    assert entrypoint.main(["finalize"]) == 0
    closing = {"run_id": "exec-1", "input": env, "outcome": "succeeded", "error": None}
    restored = restore_fn.handler(closing, _LambdaContext())
    assert restored["status"] == "succeeded"
    done = report_fn.handler(closing, _LambdaContext())
    assert done["status"] == "succeeded"
    with connect(pg_server_dsn, schema, autocommit=True) as conn:
        steps = {(s.step, s.chunk): s.status for s in ledger.get_steps(conn, "exec-1")}
    assert steps[("detect", 0)] == steps[("detect", 1)] == steps[("finalize", -1)] == "succeeded"


def test_closing_handlers_report_the_catch_error(
    env: dict[str, Any], pg_server_dsn: str, schema: str
) -> None:
    """D19: the catch path passes the Step Functions error; the run ends failed with it in the report,
    and the report's message says how to finish the work."""
    _preflight("exec-2", env)
    error = {"Error": "States.TaskFailed", "Cause": json.dumps({"errorMessage": "chunk 3 blew up"})}
    closing = {"run_id": "exec-2", "input": env, "outcome": "failed", "error": error}
    assert restore_fn.handler(closing, _LambdaContext())["status"] == "succeeded"  # restore itself
    done = report_fn.handler(closing, _LambdaContext())
    assert done["status"] == "failed"
    assert "start a new execution with" in done["message"]
    with connect(pg_server_dsn, schema, autocommit=True) as conn:
        run = ledger.get_run(conn, "exec-2")
    assert run is not None and "chunk 3 blew up" in run["error"]


def test_entrypoint_fails_with_exit_code_when_step_fails(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _preflight("exec-3", env)
    monkeypatch.setenv(
        "VC_PAYLOAD",
        json.dumps({"run_id": "exec-3", "context": out["context"], "params": {**out["params"], "chunks": 2}}),
    )
    # finalize without detect chunks: refused (D12), a permanent failure: not retried.
    assert entrypoint.main(["finalize"]) == EXIT_PERMANENT


def test_entrypoint_exits_75_for_a_transient_failure(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exit status separates transient from permanent: only 75 is retried by the state machine."""
    out = _preflight("exec-4", env)
    monkeypatch.setenv(
        "VC_PAYLOAD", json.dumps({"run_id": "exec-4", "context": out["context"], "params": out["params"]})
    )

    def drop(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(entrypoint, "run_step", drop)
    assert entrypoint.main(["plan"]) == EXIT_TRANSIENT


def test_entrypoint_of_a_closed_run_fails_permanently(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redriven Fargate step after restore closed the run: refused, exit 1 (never retried)."""
    out = _preflight("exec-5", env)
    restore_fn.handler(
        {"run_id": "exec-5", "input": env, "outcome": "cancelled", "error": None}, _LambdaContext()
    )
    monkeypatch.setenv(
        "VC_PAYLOAD", json.dumps({"run_id": "exec-5", "context": out["context"], "params": out["params"]})
    )
    assert entrypoint.main(["detect", "--chunk", "0"]) == EXIT_PERMANENT


@pytest.mark.parametrize(
    "execution_input",
    [{"steps": ["detect"]}, {"params": {}, "stepz": 1}],
)
def test_unknown_top_level_input_keys_are_refused(
    env: dict[str, Any], execution_input: dict[str, Any]
) -> None:
    """{"steps": [...]} without "params" must not start a full run."""
    with pytest.raises(ConfigError, match=r"unknown top-level key.*\"params\""):
        _preflight("exec-6", execution_input)


def test_lambda_reports_a_transient_failure_under_the_retried_error_name(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise psycopg.errors.SerializationFailure("could not serialize access")

    monkeypatch.setattr(preflight_fn, "run_step", refuse)
    with pytest.raises(TransientError, match="SerializationFailure"):
        _preflight("exec-7", env)


def test_abnormal_end_cleanup_closes_the_run_with_its_stored_parameters(
    env: dict[str, Any], pg_server_dsn: str, schema: str
) -> None:
    """The rule sends the execution input as text; the run is closed (restore + report) and reported."""
    _preflight("exec-8", env)
    event = {
        "run_id": "exec-8",
        "execution_arn": None,
        "input": json.dumps(env),
        "outcome": "cancelled",
        "error": {"Error": "ABORTED", "Cause": "stopped by hand"},
    }
    done = cleanup_fn.handler(event, _LambdaContext())
    assert done["status"] == "cancelled"
    with connect(pg_server_dsn, schema, autocommit=True) as conn:
        run = ledger.get_run(conn, "exec-8")
    assert run is not None and run["status"] == "cancelled" and run["report"]["status"] == "cancelled"


def test_entrypoint_hands_a_cli_command_line_to_the_cli(
    env: dict[str, Any], pg_server_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator's one-off task (`cli ...` as the ECS command override, e.g. the source check) runs
    the command line with its own options and exit codes, without a state-machine payload."""
    _preflight("exec-5", env)
    capsys.readouterr()
    argv = ["cli", "report", "--run-id", "exec-5", "--format", "json", "--pg-dsn", pg_server_dsn]
    assert entrypoint.main([*argv, "--schema", schema]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == "exec-5"
    unknown = ["cli", "report", "--run-id", "no-such-run", "--pg-dsn", pg_server_dsn, "--schema", schema]
    assert entrypoint.main(unknown) == 2  # bad usage, as the command line says it
