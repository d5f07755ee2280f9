"""Throughput of the synthetic source generator: source visits written per second.

Runs `devkit.generate.generate` several times at one scale factor, each time into a fresh
emulation directory and a fresh PostgreSQL schema, and reports the median wall time and rates (target:
>= 100K visits/s at scale 0.01-0.1). CPU seconds and the load average are recorded too: on a machine shared
with other jobs the wall time says more about the neighbours than about the generator.

    .venv/bin/python -m bench.bench_generate [--scale 0.01] [--repetitions 3] [--pg-dsn DSN]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import sql

from bench.common import fresh_schema, pg_server, write_result
from devkit.emulation import release_emulation
from devkit.generate import generate
from visit_conflicts.store.db import connect

ANCHOR = datetime(2025, 6, 15, 6, 30, tzinfo=ZoneInfo("America/New_York"))


def one_run(dsn: str, scale: float, seed: int, work: Path) -> dict[str, Any]:
    schema = f"bench_gen_{uuid.uuid4().hex[:8]}"
    fresh_schema(dsn, schema)
    source_dir = work / schema
    pg = connect(dsn, schema, autocommit=True)
    try:
        release_emulation()
        started, cpu_started = time.perf_counter(), time.process_time()
        manifest = generate(source_dir, pg, scale=scale, seed=seed, anchor=ANCHOR)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started  # all threads of this process
    finally:
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        pg.close()
        release_emulation()
    counts = manifest["counts"]
    visits = counts["FACTVISITCALLPERFORMANCE_CR"]
    rows = sum(counts.values())
    size = sum(f.stat().st_size for f in source_dir.rglob("*") if f.is_file())
    shutil.rmtree(source_dir, ignore_errors=True)
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "visits": visits,
        "rows": rows,
        "visits_per_second": round(visits / seconds),
        "visits_per_cpu_second": round(visits / cpu_seconds),
        "rows_per_second": round(rows / seconds),
        "emulation_bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-dsn", default=None)
    args = parser.parse_args(argv)

    runs = []
    with pg_server(args.pg_dsn) as dsn, tempfile.TemporaryDirectory(prefix="vc-bench-src-") as tmp:
        for rep in range(args.repetitions):
            run = one_run(dsn, args.scale, args.seed, Path(tmp))
            runs.append(run)
            print(
                f"run {rep + 1}/{args.repetitions}: {run['visits']:,} visits in {run['seconds']:.2f} s "
                f"({run['cpu_seconds']:.2f} CPU s, load {run['load_average_1m']:.1f}) "
                f"= {run['visits_per_second']:,} visits/s",
                flush=True,
            )
    params = {"scale": args.scale, "seed": args.seed, "repetitions": args.repetitions}
    write_result(f"generate-sf{args.scale:g}", params, runs, "visits_per_second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
