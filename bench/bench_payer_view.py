"""Benchmark: the payer view maintained for the changed conflicts (migration 0034) beside the full refresh
it replaces, on bench_merge's CVM (--reuse of its fill, default 1M rows).

Setup: every payer of the CVM rows becomes an active, non-demo payer (so the view has rows), and the
view's table is rebuilt once. Then --runs rounds of: a night's writes (--changed pairs with a new status
and distance flag, a tenth as many conflicts with a new status), the pipeline's maintenance (the changed
conflicts computed again, then REFRESH MATERIALIZED VIEW CONCURRENTLY of the view), and, for comparison,
REFRESH MATERIALIZED VIEW CONCURRENTLY of a materialized view with migration 0003's definition over the
same tables (what every run did before). Reports both medians.

    .venv/bin/python -m bench.bench_payer_view [--changed 10000] [--runs 3] [--pg-dsn DSN]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timedelta
from typing import Any

from bench.common import pg_server, timed, write_result
from visit_conflicts.paths import PG_MIGRATIONS_DIR
from visit_conflicts.store.db import connect
from visit_conflicts.store.payer_view import maintain_payer_view

SCHEMA = "bench_merge_detected"
VIEW = "mv_payer_conflicts_common"
LEGACY = "bench_legacy_payer_view"


def prepare(dsn: str) -> None:
    """Active payers for the CVM's rows, the legacy view beside the new one, the table rebuilt."""
    text = (PG_MIGRATIONS_DIR / "0003_payer_conflicts_mv.sql").read_text()
    head = "CREATE MATERIALIZED VIEW mv_payer_conflicts_common AS\n"
    body = text[text.index(head) + len(head) : text.index("WITH DATA;")]
    with connect(dsn, SCHEMA, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO payers ("PayerID", "AppPayerID", "PayerName", "IsActive", "IsDemo")
               SELECT DISTINCT "PayerID", 0, 'bench', true, false FROM conflictvisitmaps
               WHERE "PayerID" IS NOT NULL
               ON CONFLICT ("PayerID") DO UPDATE SET "IsActive" = true, "IsDemo" = false"""
        )
        conn.execute(
            """INSERT INTO conflicts ("CONFLICTID", "StatusFlag")
               SELECT DISTINCT c."CONFLICTID", 'N' FROM conflictvisitmaps c
               WHERE c."CONFLICTID" IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM conflicts f WHERE f."CONFLICTID" = c."CONFLICTID")"""
        )
        conn.execute(f"DROP MATERIALIZED VIEW IF EXISTS {LEGACY}".encode())
        conn.execute((f"CREATE MATERIALIZED VIEW {LEGACY} AS\n" + body + "WITH DATA").encode())
        conn.execute(f'CREATE UNIQUE INDEX ON {LEGACY} ("ID")'.encode())
        conn.execute("VACUUM ANALYZE conflictvisitmaps")
        conn.execute("VACUUM ANALYZE conflicts")
        seconds, done = timed(
            lambda: maintain_payer_view(conn, view=VIEW, mode="rebuild", now=datetime(2026, 11, 27))
        )
        print(f"rebuilt the view's table in {seconds:.1f}s: {done}")


def night(dsn: str, changed: int, seed: int) -> None:
    with connect(dsn, SCHEMA) as conn:
        conn.execute(
            """UPDATE conflictvisitmaps
               SET "StatusFlag" = CASE "StatusFlag" WHEN 'N' THEN 'U' ELSE 'N' END, "DistanceFlag" = 'Y'
               WHERE "ID" IN (SELECT 1 + abs(hashint8("ID" + %(seed)s)) %% 1000000
                              FROM conflictvisitmaps WHERE "ID" <= %(changed)s)""",
            {"seed": seed, "changed": changed},
        )
        conn.execute(
            """UPDATE conflicts SET "StatusFlag" = CASE "StatusFlag" WHEN 'N' THEN 'U' ELSE 'N' END
               WHERE "CONFLICTID" IN (SELECT 1 + abs(hashint8("CONFLICTID" + %(seed)s)) %% 1000000
                                      FROM conflicts WHERE "CONFLICTID" <= %(conflicts)s)""",
            {"seed": seed, "conflicts": max(changed // 10, 1)},
        )
        conn.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dsn")
    ap.add_argument("--changed", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with pg_server(args.pg_dsn) as dsn:
        prepare(dsn)
        incremental: list[dict[str, Any]] = []
        legacy: list[dict[str, Any]] = []
        for run in range(args.runs):
            night(dsn, args.changed, seed=run)
            with connect(dsn, SCHEMA, autocommit=True) as conn:
                started = time.perf_counter()
                done = maintain_payer_view(
                    conn, view=VIEW, mode="delta", now=datetime(2026, 11, 27) + timedelta(days=run)
                )
                seconds = time.perf_counter() - started
                rows = conn.execute(f"SELECT count(*) FROM {VIEW}".encode()).fetchone()
            incremental.append(
                {
                    "seconds": round(seconds, 3),
                    "compute_seconds": done.compute_seconds,
                    "refresh_seconds": done.refresh_seconds,
                    "conflicts": done.conflicts,
                    "rows_written": done.rows_written,
                    "view_rows": rows[0] if rows else 0,
                    "load_average": os.getloadavg(),
                }
            )
            print("incremental", incremental[-1])
            with connect(dsn, SCHEMA, autocommit=True) as conn:
                seconds, _ = timed(
                    lambda: conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {LEGACY}".encode())
                )
            legacy.append({"seconds": round(seconds, 3), "load_average": os.getloadavg()})
            print("full refresh", legacy[-1])
        write_result("payer_view_incremental", vars(args), incremental, "seconds")
        write_result("payer_view_full_refresh", vars(args), legacy, "seconds")
        with connect(dsn, SCHEMA, autocommit=True) as conn:
            conn.execute(f"DROP MATERIALIZED VIEW IF EXISTS {LEGACY}".encode())


if __name__ == "__main__":
    main()
