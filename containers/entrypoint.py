"""Fargate entrypoint of the one container image: `python -m containers.entrypoint STEP [--chunk N]`;
`python -m containers.entrypoint migrate` for the one-off schema migration task; and
`python -m containers.entrypoint cli ARGS...` for an operator's one-off command in the VPC, e.g.
`cli source check --target` (the Snowflake smoke test, docs/runbook.md): an ECS RunTask override can
replace the command but not the entry point, so the command line is handed on from here.

The state machine passes the run id, run context and parameter overrides as JSON in the environment
variable VC_PAYLOAD (container overrides; never credentials). The step's result goes to the ledger,
since a `.sync` task cannot return data; the exit code tells Step Functions how it ended: 0 succeeded,
75 a transient failure worth retrying, 1 a permanent one (`visit_conflicts.errors`). The state machine
retries only 75. SIGTERM (the task is stopped, e.g. the execution was aborted) sets the run's cancel
flag, so a long step stops between batches.

`migrate` reads VC_PAYLOAD = the migrate state machine's execution input, whose optional "params" may
name another target schema; it applies the numbered migrations (`db migrate`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from visit_conflicts.adapters import (
    check_keys,
    context_from_event,
    params_from_event,
    params_from_input,
    resources,
)
from visit_conflicts.errors import EXIT_OK, exit_code
from visit_conflicts.observability import bind, logger, metrics
from visit_conflicts.pipeline import STEP_BY_NAME
from visit_conflicts.step_runner import run_step

MIGRATE = "migrate"
CLI = "cli"
PAYLOAD_KEYS = ("run_id", "context", "params")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [CLI]:
        # The command line's own parsing, messages and exit codes (0 ok, 1 failed, 2 bad usage).
        from visit_conflicts.cli import main as cli_main

        return cli_main(argv[1:])
    steps = [s.name for s in STEP_BY_NAME.values() if s.kind == "fargate"]
    parser = argparse.ArgumentParser(description="Run one Fargate step of the pipeline, or migrate")
    parser.add_argument("step", choices=[*steps, MIGRATE, CLI])
    parser.add_argument("--chunk", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        payload: dict[str, Any] = json.loads(os.environ.get("VC_PAYLOAD", "{}"))
        if args.step == MIGRATE:
            return _migrate(payload)
        check_keys("VC_PAYLOAD", payload, PAYLOAD_KEYS)
        params = params_from_event(payload)
        ctx = context_from_event(payload)
        bind(run_id=ctx.run_id, step=args.step, chunk=args.chunk)
        res = resources(params)
        res.cancel = _cancel_on_sigterm()
        result = run_step(res, ctx, params, args.step, chunk=args.chunk)
        logger.info("step result", extra={"result": result.to_json()})
        return EXIT_OK
    except Exception as exc:
        code = exit_code(exc)
        logger.exception("step failed", extra={"exit_code": code, "transient": code != 1})
        return code
    finally:
        metrics.flush_metrics()


def _migrate(payload: dict[str, Any]) -> int:
    import psycopg

    from visit_conflicts.store.migrate import migrate

    params = params_from_input(payload)
    res = resources(params)
    bind(step=MIGRATE, schema=res.schema)
    with psycopg.connect(res.pg_dsn, application_name="visit-conflicts migrate") as conn:
        applied = migrate(conn, res.schema)
    logger.info("schema migrated", extra={"schema": res.schema, "applied": applied})
    return EXIT_OK


def _cancel_on_sigterm() -> threading.Event:
    cancel = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        logger.warning("SIGTERM: cancelling the step")
        cancel.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
    return cancel


if __name__ == "__main__":
    sys.exit(main())
