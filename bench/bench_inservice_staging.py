"""Benchmark: the conflictlog_staging rebuild (D17) and an InService delta run (D14).

staging: CVM with --staging-rows rows (default 1M) of every detection-written column, each with its
parent conflict, all inside the window; then --runs rounds of: a night's changes (--changed pairs
updated, a tenth as many new pairs, as many parents' statuses changed), the refresh by applying them
(staging_mode = "delta", D17 amended), the same changes again, and a rebuild (build a new table, swap by
rename, set InProgressFlag, drop the old table). Reports the wall time of each (rebuild target <= 20 s
for 1M rows), when the new content became visible, and how long a rebuild's swap held the table's lock
(what a concurrent reader can wait at most). The machine's load average is recorded with every run.

inservice: the generator's source at --scale (default 0.1) with its anchor as "now"; one window-mode run
fills CVM, then --runs delta-mode runs of the inservice step (target <= 10 s at scale 0.1), each
re-evaluating the pairs of the visits and events changed within the cutoff and of the changed events'
caregiver records' visits (the steady state: nothing to write).

    .venv/bin/python -m bench.bench_inservice_staging [--staging-rows 1000000] [--changed 10000] [--reuse]
        [--scale 0.1] [--runs 3] [--only staging|inservice] [--pg-dsn DSN]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import date, datetime, timedelta
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
from visit_conflicts.store.staging import StagingMode, refresh_conflictlog_staging

STAGING_SCHEMA = "bench_staging"
INSERVICE_SCHEMA = "bench_inservice"
# fill_cvm spreads VisitDate over 2026-01-01 + 0..699 days: this window holds every row.
WINDOW = (date(2025, 12, 1), date(2027, 12, 31))
ANCHOR = datetime(2025, 6, 15, 6, 30, tzinfo=ZoneInfo("America/New_York"))


def bench_staging(dsn: str, rows: int, runs: int, changed: int, *, reuse: bool = False) -> None:
    if not (reuse and _filled(dsn, rows)):
        fresh_schema(dsn, STAGING_SCHEMA)
        with connect(dsn, STAGING_SCHEMA) as conn:
            seconds, _ = timed(lambda: fill_cvm(conn, rows, STAGING_SCHEMA))
            conn.execute(
                """INSERT INTO conflicts ("CONFLICTID", "StatusFlag", "CreatedDate")
                   SELECT g, 'N', TIMESTAMP '2026-01-01' FROM generate_series(1, %s) g""",
                (rows,),
            )
            conn.commit()
        print(f"filled {rows} CVM rows and their conflicts in {seconds:.1f}s")
    with connect(dsn, STAGING_SCHEMA, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE conflictvisitmaps")
        conn.execute("VACUUM ANALYZE conflicts")
    refresh(dsn, "rebuild", seed=0)  # the first refresh: the change log follows from here
    results: dict[str, list[dict[str, Any]]] = {"delta": [], "rebuild": []}
    for run in range(runs):
        for mode in ("delta", "rebuild"):
            night(dsn, rows, changed, seed=2 * run + (mode == "rebuild"))
            results[mode].append(refresh(dsn, mode, seed=run))
            print(mode, results[mode][-1])
    write_result(
        "staging_delta", {"rows": rows, "changed": changed, "runs": runs}, results["delta"], "seconds"
    )
    write_result("staging_rebuild", {"rows": rows, "runs": runs}, results["rebuild"], "seconds")


def _filled(dsn: str, rows: int) -> bool:
    """The staging schema holds a fill of at least `rows` pairs from an earlier run (--reuse)."""
    try:
        with connect(dsn, STAGING_SCHEMA, autocommit=True) as conn:
            found = conn.execute("SELECT count(*) FROM conflictvisitmaps").fetchone()
    except Exception:
        return False
    return found is not None and found[0] >= rows


def night(dsn: str, rows: int, changed: int, seed: int) -> None:
    """A night's writes on the conflict tables: `changed` pairs updated, a tenth as many new pairs with
    their parents, `changed` parents' statuses changed (the staging change log records them all)."""
    with connect(dsn, STAGING_SCHEMA) as conn:
        conn.execute(
            """UPDATE conflictvisitmaps SET "ProviderName" = left(md5(%(seed)s || "ID"::text), 20)
               WHERE "ID" IN (SELECT 1 + (abs(hashint8("ID" + %(seed)s)) %% %(rows)s)
                              FROM conflictvisitmaps WHERE "ID" <= %(changed)s)""",
            {"seed": seed, "rows": rows, "changed": changed},
        )
        conn.execute(
            """UPDATE conflicts SET "StatusFlag" = CASE "StatusFlag" WHEN 'N' THEN 'U' ELSE 'N' END
               WHERE "CONFLICTID" IN (SELECT 1 + (abs(hashint8("CONFLICTID" + %(seed)s)) %% %(rows)s)
                                      FROM conflicts WHERE "CONFLICTID" <= %(changed)s)""",
            {"seed": seed, "rows": rows, "changed": changed},
        )
        conn.execute(
            """WITH parent AS (
                   INSERT INTO conflicts ("StatusFlag", "CreatedDate")
                   SELECT 'N', TIMESTAMP '2026-11-27' FROM generate_series(1, %(new)s) RETURNING "CONFLICTID"
               )
               INSERT INTO conflictvisitmaps ("CONFLICTID", "VisitID", "ConVisitID", "SSN", "VisitDate",
                                              "StatusFlag", "InServiceFlag", "ProviderName")
               SELECT "CONFLICTID", gen_random_uuid(), gen_random_uuid(), '1', DATE '2026-06-01',
                      'N', 'N', 'x'
               FROM parent""",
            {"new": max(changed // 10, 1)},
        )
        conn.commit()


def refresh(dsn: str, mode: StagingMode, seed: int) -> dict[str, Any]:
    marks: dict[str, float] = {}

    def mark(phase: str) -> None:
        marks[phase] = time.perf_counter()

    with connect(dsn, STAGING_SCHEMA) as conn:
        started = time.perf_counter()
        done = refresh_conflictlog_staging(
            conn,
            mode=mode,
            window_start=WINDOW[0],
            window_end=WINDOW[1],
            now=datetime(2026, 11, 27, 9) + timedelta(days=seed),
            on_phase=mark,
        )
        ended = time.perf_counter()
    result: dict[str, Any] = {
        "seconds": round(ended - started, 3),
        "build_seconds": round(marks["built"] - started, 3),
        # The new content is visible from the commit (just after "swapped"); a rebuild removes the old
        # table's files after that, outside the lock.
        "visible_after_seconds": round(marks["swapped"] - started, 3),
        "rows_written": done.rows,
        "rows_removed": done.deleted,
        "changes": done.changes,
        "strategy": done.strategy,
        "load_average": os.getloadavg(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if "locked" in marks:
        result["lock_wait_ms"] = round((marks["locked"] - marks["built"]) * 1000, 1)
        result["lock_held_ms"] = round((marks["swapped"] - marks["locked"]) * 1000, 1)
        result["drop_old_seconds"] = round(ended - marks["swapped"], 3)
    return result


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
    ap.add_argument("--changed", type=int, default=10_000, help="pairs changed per night (staging)")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=("staging", "inservice"))
    ap.add_argument("--reuse", action="store_true", help="keep the staging fill of an earlier run")
    args = ap.parse_args()
    with pg_server(args.pg_dsn) as dsn:
        if args.only in (None, "staging"):
            bench_staging(dsn, args.staging_rows, args.runs, args.changed, reuse=args.reuse)
        if args.only in (None, "inservice"):
            bench_inservice(dsn, args.scale, args.runs, args.seed)


if __name__ == "__main__":
    main()
