"""End-to-end benchmark: generate a scale factor, run the whole pipeline, then a day of changes and an
incremental run; per-step seconds and counts come from the run reports (the ledger).

    .venv/bin/python -m bench.bench_pipeline --scale 0.01 [--chunks 4] [--workers 2] [--repetitions 1]

Each repetition starts from a fresh schema and a fresh emulation directory. Results: bench/results/.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import fresh_schema, pg_server, write_result
from devkit.emulation import release_emulation
from devkit.generate import generate, mutate
from visit_conflicts.config import load_params
from visit_conflicts.local_runner import run_pipeline
from visit_conflicts.step_api import Resources
from visit_conflicts.store.db import connect

SCHEMA = "bench_pipeline"


def _steps(report: dict[str, Any]) -> dict[str, Any]:
    """Seconds and counts per step; chunks summed into one 'detect' entry (wall time = max chunk)."""
    out: dict[str, Any] = {}
    for s in report["steps"]:
        entry = out.setdefault(s["step"], {"seconds": 0.0, "counts": {}})
        if s["chunk"] is None:
            entry["seconds"] = s["seconds"]
        else:
            entry["seconds"] = max(entry["seconds"], s["seconds"] or 0.0)
        for k, v in (s["counts"] or {}).items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                entry["counts"][k] = entry["counts"].get(k, 0) + v
            else:
                entry["counts"][k] = v
    return out


def one(dsn: str, scale: float, seed: int, chunks: int, workers: int) -> dict[str, Any]:
    fresh_schema(dsn, SCHEMA)
    workdir = Path(tempfile.mkdtemp(prefix="vc-bench-pipeline-"))
    release_emulation()
    try:
        anchor = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
        with connect(dsn, SCHEMA) as conn:
            started = time.perf_counter()
            manifest = generate(workdir, conn, scale=scale, seed=seed, anchor=anchor)
            generate_seconds = time.perf_counter() - started
        params = load_params("local", {"chunks": chunks, "workers": workers, "target": {"schema": SCHEMA}})
        res = Resources(pg_dsn=dsn, schema=SCHEMA, source_dir=workdir)
        first = run_pipeline(res, params, now=anchor)
        next_anchor = anchor + timedelta(days=1)
        mutate(workdir, seed=seed + 1, anchor=next_anchor)
        second = run_pipeline(res, params, now=next_anchor)
        return {
            "visits": manifest.counts.get("FACTVISITCALLPERFORMANCE_CR"),
            "generate_seconds": round(generate_seconds, 2),
            "first_run": {
                "status": first.status,
                "seconds": first.report["seconds"],
                "steps": _steps(first.report),
            },
            "incremental_run": {
                "status": second.status,
                "seconds": second.report["seconds"],
                "steps": _steps(second.report),
            },
            "first_run_seconds": first.report["seconds"],
        }
    finally:
        release_emulation()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dsn")
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repetitions", type=int, default=1)
    args = ap.parse_args()
    with pg_server(args.pg_dsn) as dsn:
        runs = []
        for r in range(args.repetitions):
            result = one(dsn, args.scale, args.seed + r, args.chunks, args.workers)
            print(result)
            runs.append(result)
    write_result(f"pipeline-sf{args.scale}", vars(args), runs, "first_run_seconds")


if __name__ == "__main__":
    main()
