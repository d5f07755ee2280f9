"""Benchmark: the conflictlog_staging rebuild (D17) and an InService delta run (D14).

staging: CVM with --staging-rows rows (default 1M) of every detection-written column, each with its
parent conflict, all inside the window; then --runs rebuilds (build a new table, swap by rename, set
InProgressFlag, drop the old table). Reports the wall time per rebuild (target <= 20 s for 1M rows), when
the new content became visible, and how long the swap held the table's lock (what a concurrent reader
can wait at most). The machine's load average is recorded with every run.

inservice: the generator's source at --scale (default 0.1) with its anchor as "now"; one window-mode run
fills CVM, then --runs delta-mode runs of the inservice step (target <= 10 s at scale 0.1), each
re-evaluating the pairs of the visits and events changed within the cutoff and of the changed events'
caregiver records' visits (the steady state: nothing to write).

    .venv/bin/python -m bench.bench_inservice_staging [--staging-rows 1000000] [--scale 0.1] [--runs 3]
        [--only staging|inservice] [--pg-dsn DSN]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.bench_merge import fill_cvm
from bench.common import fresh_schema, peak_rss_mb, pg_server, timed, write_result
from devkit.emulation import release_emulation
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.step_api import Resources
from visit_conflicts.steps import inservice as inservice_step
from visit_conflicts.store.db import connect
from visit_conflicts.store.staging import rebuild_conflictlog_staging

STAGING_SCHEMA = "bench_staging"
INSERVICE_SCHEMA = "bench_inservice"
# fill_cvm spreads VisitDate over 2026-01-01 + 0..699 days: this window holds every row.
WINDOW = (date(2025, 12, 1), date(2027, 12, 31))
ANCHOR = datetime(2025, 6, 15, 6, 30, tzinfo=ZoneInfo("America/New_York"))


def bench_staging(dsn: str, rows: int, runs: int) -> None:
    fresh_schema(dsn, STAGING_SCHEMA)
    with connect(dsn, STAGING_SCHEMA) as conn:
        seconds, _ = timed(lambda: fill_cvm(conn, rows, STAGING_SCHEMA))
        conn.execute(
            """INSERT INTO conflicts ("CONFLICTID", "StatusFlag", "CreatedDate")
               SELECT g, 'N', TIMESTAMP '2026-01-01' FROM generate_series(1, %s) g""",
            (rows,),
        )
        conn.commit()
    with connect(dsn, STAGING_SCHEMA, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE conflictvisitmaps")
        conn.execute("VACUUM ANALYZE conflicts")
    print(f"filled {rows} CVM rows and their conflicts in {seconds:.1f}s")
    results = []
    for _ in range(runs):
        marks: dict[str, float] = {}

        def mark(phase: str, marks: dict[str, float] = marks) -> None:
            marks[phase] = time.perf_counter()

        with connect(dsn, STAGING_SCHEMA) as conn:
            started = time.perf_counter()
            rebuild = rebuild_conflictlog_staging(
                conn,
                window_start=WINDOW[0],
                window_end=WINDOW[1],
                now=datetime(2026, 11, 27, 9),
                on_phase=mark,
            )
            ended = time.perf_counter()
        results.append(
            {
                "seconds": round(ended - started, 3),
                "build_seconds": round(marks["built"] - started, 3),
                # The new content is visible from the commit (just after "swapped"); the old table's
                # files are removed after that, outside the lock.
                "visible_after_seconds": round(marks["swapped"] - started, 3),
                "lock_wait_ms": round((marks["locked"] - marks["built"]) * 1000, 1),
                "lock_held_ms": round((marks["swapped"] - marks["locked"]) * 1000, 1),
                "drop_old_seconds": round(ended - marks["swapped"], 3),
                "rows": rebuild.rows,
                "strategy": rebuild.strategy,
                "load_average": os.getloadavg(),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
        print(results[-1])
    write_result("staging_rebuild", {"rows": rows, "runs": runs}, results, "seconds")


def bench_inservice(dsn: str, scale: float, runs: int, seed: int) -> None:
    from devkit.generate import generate

    source_dir = Path(tempfile.mkdtemp(prefix="vc-bench-inservice-"))
    try:
        fresh_schema(dsn, INSERVICE_SCHEMA)
        with connect(dsn, INSERVICE_SCHEMA) as conn:
            seconds, _ = timed(lambda: generate(source_dir, conn, scale=scale, seed=seed, anchor=ANCHOR))
            conn.commit()
        print(f"generated scale {scale} in {seconds:.1f}s")
        res = Resources(pg_dsn=dsn, schema=INSERVICE_SCHEMA, source_dir=source_dir)
        baseline_params = Params(inservice_scope="window")
        ctx = RunContext.create(baseline_params, now=ANCHOR, run_id="bench-inservice-window")
        baseline_seconds, baseline = timed(lambda: inservice_step.run(res, ctx, baseline_params))
        print(f"window-mode baseline in {baseline_seconds:.1f}s: {baseline.counts}")
        results: list[dict[str, Any]] = []
        params = Params()
        for run in range(runs):
            delta_ctx = RunContext.create(params, now=ANCHOR, run_id=f"bench-inservice-delta-{run}")
            started = time.perf_counter()
            result = inservice_step.run(res, delta_ctx, params)
            seconds = time.perf_counter() - started
            results.append(
                {
                    "seconds": round(seconds, 3),
                    "counts": result.counts,
                    "load_average": os.getloadavg(),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                }
            )
            print(results[-1])
        write_result(
            "inservice_delta",
            {
                "scale": scale,
                "seed": seed,
                "runs": runs,
                "baseline_window_seconds": round(baseline_seconds, 3),
            },
            results,
            "seconds",
        )
    finally:
        release_emulation()
        shutil.rmtree(source_dir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dsn")
    ap.add_argument("--staging-rows", type=int, default=1_000_000)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=("staging", "inservice"))
    args = ap.parse_args()
    with pg_server(args.pg_dsn) as dsn:
        if args.only in (None, "staging"):
            bench_staging(dsn, args.staging_rows, args.runs)
        if args.only in (None, "inservice"):
            bench_inservice(dsn, args.scale, args.runs, args.seed)


if __name__ == "__main__":
    main()
