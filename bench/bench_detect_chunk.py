"""Benchmark: the Snowflake side of detect chunks through the emulation, and plan before them: seconds
and peak RSS (DuckDB and Python together, the process's VmHWM) of each step, and what the emulation's
translation cache saved.

A fresh schema and a generated source at --scale; then, for a first run and for the incremental run
after a day of changes (`generate --mutate`), the pipeline's plan step and detect chunks 0 and 1 of
--chunks, one after the other, run through the local runner (`steps = plan, detect`, `chunk_subset =
0,1`, one worker) in a fresh process of its own (generating holds gigabytes that would hide the
chunk's). Before each step and chunk the process's high-water mark is reset (`/proc/self/clear_refs`),
so the peak reported for a chunk is its own, on top of what the process already held
(`rss_before_mb`: the emulation keeps the source's pages it read in its buffer pool). The second chunk
finds the pair query translated (the translation cache's hits and saved seconds are reported).
bench_chunk_memory.py measures the PostgreSQL write path alone, without the emulation.

    .venv/bin/python -m bench.bench_detect_chunk --scale 0.1 [--chunks 4] [--repetitions 1]

Linux only (it reads and resets /proc/self). Results: bench/results/detect-chunk-sf<scale>-*.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import fresh_schema, pg_server, write_result
from visit_conflicts.config import load_params
from visit_conflicts.local_runner import run_pipeline
from visit_conflicts.step_api import Resources

SCHEMA = "bench_detect_chunk"


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def _measured(step: str, fn: Callable[..., Any], into: dict[str, Any]) -> Callable[..., Any]:
    """`fn` measured into `into[step]`, or `into[step][chunk]` for a chunked step."""

    def run(*args: Any, **kwargs: Any) -> Any:
        _reset_peak()
        before = _status_kb("VmRSS")
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            measured = {
                "seconds": round(time.perf_counter() - started, 2),
                "rss_before_mb": round(before / 1024),
                "peak_rss_mb": round(_status_kb("VmHWM") / 1024),
            }
            if "chunk" in kwargs:
                into.setdefault(step, {})[f"chunk {kwargs['chunk']}"] = measured
            else:
                into[step] = measured

    return run


def _translation_stats() -> dict[str, Any]:
    try:
        from devkit.emulation import clear_translations, translation_stats
    except ImportError:  # a checkout without the translation cache
        return {}
    stats = vars(translation_stats())
    clear_translations()
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in stats.items()}


def one_run(res: Resources, params: Any, now: datetime) -> dict[str, Any]:
    """plan and detect chunk 0 of one run, each measured."""
    import visit_conflicts.steps.detect as detect_step
    import visit_conflicts.steps.plan as plan_step

    measured: dict[str, Any] = {}
    originals = plan_step.run, detect_step.run
    plan_step.run = _measured("plan", plan_step.run, measured)
    detect_step.run = _measured("detect", detect_step.run, measured)
    try:
        _translation_stats()
        outcome = run_pipeline(res, params, now=now)
    finally:
        plan_step.run, detect_step.run = originals
    if outcome.status != "succeeded":
        raise SystemExit(f"the run failed:\n{outcome.text}")
    groups = next(s["counts"].get("groups") for s in outcome.report["steps"] if s["step"] == "plan")
    pairs = [s["counts"].get("pairs_read") for s in outcome.report["steps"] if s["step"] == "detect"]
    return {**measured, "groups": groups, "chunk_pairs": pairs, "translation": _translation_stats()}


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "visit_conflicts", *args], check=True, stdout=subprocess.DEVNULL)


def _measured_run(dsn: str, workdir: Path, now: datetime, chunks: int) -> dict[str, Any]:
    """One measured run in a fresh process (`child`), its result read from its last output line."""
    argv = [sys.executable, "-m", "bench.bench_detect_chunk", "child", "--pg-dsn", dsn]
    argv += ["--source-dir", str(workdir), "--now", now.isoformat(), "--chunks", str(chunks)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def one(dsn: str, scale: float, seed: int, chunks: int) -> dict[str, Any]:
    fresh_schema(dsn, SCHEMA)
    workdir = Path(tempfile.mkdtemp(prefix="vc-bench-detect-chunk-"))
    try:
        anchor = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
        pg = ["--pg-dsn", dsn, "--schema", SCHEMA]
        _cli(
            "generate",
            "--source-dir",
            str(workdir),
            *pg,
            "--scale",
            str(scale),
            "--seed",
            str(seed),
            "--now",
            anchor.isoformat(),
        )
        first = _measured_run(dsn, workdir, anchor, chunks)
        next_anchor = anchor + timedelta(days=1)
        _cli(
            "generate",
            "--source-dir",
            str(workdir),
            "--mutate",
            "--seed",
            str(seed + 1),
            "--now",
            next_anchor.isoformat(),
        )
        incremental = _measured_run(dsn, workdir, next_anchor, chunks)
        return {
            "first_run": first,
            "incremental_run": incremental,
            "first_run_detect_peak_rss_mb": first["detect"]["chunk 0"]["peak_rss_mb"],
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def child(dsn: str, source_dir: Path, now: datetime, chunks: int) -> None:
    params = load_params(
        "local",
        {
            "chunks": chunks,
            "workers": 1,
            "steps": ["plan", "detect"],
            "chunk_subset": [0],
            "target": {"schema": SCHEMA},
        },
    )
    res = Resources(pg_dsn=dsn, schema=SCHEMA, source_dir=source_dir)
    print(json.dumps(one_run(res, params, now)))


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        cp = argparse.ArgumentParser()
        cp.add_argument("--pg-dsn", required=True)
        cp.add_argument("--source-dir", required=True)
        cp.add_argument("--now", required=True)
        cp.add_argument("--chunks", type=int, required=True)
        c = cp.parse_args(sys.argv[2:])
        child(c.pg_dsn, Path(c.source_dir), datetime.fromisoformat(c.now), c.chunks)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dsn")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--repetitions", type=int, default=1)
    args = ap.parse_args()
    with pg_server(args.pg_dsn) as dsn:
        runs = []
        for r in range(args.repetitions):
            result = one(dsn, args.scale, args.seed + r, args.chunks)
            print(result, flush=True)
            runs.append(result)
    write_result(f"detect-chunk-sf{args.scale}", vars(args), runs, "first_run_detect_peak_rss_mb")


if __name__ == "__main__":
    main()
