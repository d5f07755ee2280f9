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


def test_payload_flows_through_handlers_and_entrypoint(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, pg_server_dsn: str, schema: str
) -> None:
    """The state machine carries ids, the context and overrides only; every step records to the ledger."""
    out = preflight_fn.handler({"run_id": "exec-1", **env}, _LambdaContext())
    assert out["chunks"] == [0, 1] and out["run_id"] == "exec-1"
    assert "dsn" not in json.dumps(out) and pg_server_dsn not in json.dumps(out)
    payload = {"run_id": "exec-1", "context": out["context"], "params": out["params"]}
    monkeypatch.setenv("VC_PAYLOAD", json.dumps(payload))
    assert entrypoint.main(["plan"]) == 0
    assert entrypoint.main(["detect", "--chunk", "0"]) == 0
    assert entrypoint.main(["detect", "--chunk", "1"]) == 0
    assert entrypoint.main(["finalize"]) == 0
    done = cleanup_fn.handler({**payload, "outcome": "succeeded"}, _LambdaContext())
    assert done["status"] == "succeeded"
    with connect(pg_server_dsn, schema, autocommit=True) as conn:
        steps = {(s.step, s.chunk): s.status for s in ledger.get_steps(conn, "exec-1")}
    assert steps[("detect", 0)] == steps[("detect", 1)] == steps[("finalize", -1)] == "succeeded"


def test_cleanup_handler_reports_catch_error(env: dict[str, Any], pg_server_dsn: str, schema: str) -> None:
    """D19: the catch path passes the Step Functions error; the run ends failed with it in the report."""
    out = preflight_fn.handler({"run_id": "exec-2", **env}, _LambdaContext())
    error = {"Error": "States.TaskFailed", "Cause": json.dumps({"errorMessage": "chunk 3 blew up"})}
    done = cleanup_fn.handler(
        {"run_id": "exec-2", "params": out["params"], "outcome": "failed", "error": error}, _LambdaContext()
    )
    assert done["status"] == "failed"
    with connect(pg_server_dsn, schema, autocommit=True) as conn:
        run = ledger.get_run(conn, "exec-2")
    assert run is not None and "chunk 3 blew up" in run["error"]


def test_entrypoint_fails_with_exit_code_when_step_fails(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = preflight_fn.handler({"run_id": "exec-3", **env}, _LambdaContext())
    monkeypatch.setenv(
        "VC_PAYLOAD",
        json.dumps({"run_id": "exec-3", "context": out["context"], "params": {**out["params"], "chunks": 2}}),
    )
    # finalize without detect chunks: refused (D12) -> non-zero exit for Step Functions.
    assert entrypoint.main(["finalize"]) == 1
