"""Fargate entrypoint of the one container image: `python -m containers.entrypoint STEP [--chunk N]`.

The state machine passes the run id, run context and parameter overrides as JSON in the environment
variable VC_PAYLOAD (container overrides; never credentials). The step's result goes to the ledger,
since a `.sync` task cannot return data; the exit code tells Step Functions whether it succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from visit_conflicts.adapters import context_from_event, params_from_event, resources
from visit_conflicts.observability import bind, logger, metrics
from visit_conflicts.pipeline import STEP_BY_NAME
from visit_conflicts.step_runner import run_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one Fargate step of the pipeline")
    parser.add_argument("step", choices=[s.name for s in STEP_BY_NAME.values() if s.kind == "fargate"])
    parser.add_argument("--chunk", type=int, default=None)
    args = parser.parse_args(argv)
    payload = json.loads(os.environ.get("VC_PAYLOAD", "{}"))
    params = params_from_event(payload)
    ctx = context_from_event(payload)
    bind(run_id=ctx.run_id, step=args.step, chunk=args.chunk)
    try:
        result = run_step(resources(params), ctx, params, args.step, chunk=args.chunk)
        logger.info("step result", extra={"result": result.to_json()})
        return 0
    except Exception:
        logger.exception("step failed")
        return 1
    finally:
        metrics.flush_metrics()


if __name__ == "__main__":
    sys.exit(main())
