"""Benchmark: the status step with the delta scope (D16) on a steady-state conflict table, at two sizes.

Setup per size: `conflictvisitmaps` with --scale x 9.2M untouched rows (times --factor for the large
size) in ~1.16 pairs per conflict, generated in PostgreSQL with generate_series and already in the
status step's fixed point (statuses consistent per conflict, computed columns filled, UpdatedRFlag set,
timestamps long before any cutoff), indexes built after the load. Then daily runs, the two sizes taking
turns: one day of changes at --scale of production volumes (new pairs, re-detected and stale pairs, user
changes on pairs and conflicts, deleted visits in the Snowflake emulation, a few of them in the table),
the whole status step (Phase B fetch included) with the delta scope, timed, and the cleanup step's
VACUUM ANALYZE of the two tables (D21, untimed). The first run of each size is a warm-up. Both sizes get
the same changes, so the second shows how the step scales with the untouched part of the tables.

    .venv/bin/python -m bench.bench_status [--scale 0.1] [--factor 10] [--runs 5] [--pg-dsn DSN]

Writes bench/results/status-sf<scale>-x1-*.json and -x<factor>-*.json (the measured runs with per-unit
seconds and counts, and their median) and prints the ratio of the two medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pyarrow as pa
from psycopg import sql

from bench.common import fresh_schema, pg_server, timed, write_result
from devkit.emulation import create_source_schema, release_emulation
from devkit.generate.writer import write_source_rows
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.connection import connect_source
from visit_conflicts.step_api import Resources
from visit_conflicts.steps import status as status_step
from visit_conflicts.store import status as status_store
from visit_conflicts.store.db import connect

NY = ZoneInfo("America/New_York")
FIRST_RUN = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # 06:00 in New York, then one run a day
OLD = "TIMESTAMP '2026-06-01 08:00'"  # when the untouched rows were last written

# Production volumes per run (the legacy container's nightly figures); --scale multiplies them.
PRODUCTION_PAIRS = 9_200_000
PER_RUN = {
    "new_pairs": 100_000,  # inserted by detect (40-100K new of 100-150K streamed)
    "updated_pairs": 20_000,  # re-detected with changes (legacy saw 0-300; generous)
    "stale_pairs": 5_000,  # resolved by stale cleanup (0-9.3K)
    "user_conflicts": 5_000,  # resolved, whitelisted, no-response or review flag by users
    "user_pairs": 5_000,
    "deleted_ids": 84_000,  # deleted visits per run in the source
    "deleted_in_table": 3_300,  # of which have pairs
}


def _run_sql(conn: Any, statement: str, **literals: Any) -> None:
    """A generation statement with literal values (no parameters: the SQL uses '%' for modulo)."""
    conn.execute(sql.SQL(statement).format(**{k: sql.Literal(v) for k, v in literals.items()}))


BASE_CONFLICTS = """
INSERT INTO conflicts ("CONFLICTID", "StatusFlag", "CreatedDate", "RECORDEDDATETIME", "UpdatedRFlag",
                       "ResolveDate", "ResolvedBy", "NoResponseFlag")
SELECT f, s.status, {old}, {old},
       CASE WHEN s.status = 'U' THEN NULL ELSE '1' END,
       CASE WHEN s.status IN ('R', 'D') THEN {old} END,
       CASE WHEN s.status IN ('R', 'D') THEN 'Agency ' || (f % 1000) END,
       CASE WHEN s.status = 'R' AND f % 7 = 0 THEN 'Yes' END
FROM generate_series({lo}, {hi}) f,
     LATERAL (SELECT CASE WHEN f % 100 < 70 THEN 'N' WHEN f % 100 < 90 THEN 'R' WHEN f % 100 < 95 THEN 'U'
                          WHEN f % 100 < 98 THEN 'W' ELSE 'D' END AS status) s
"""

# Pair g belongs to conflict f = floor((g - 1) * conflicts / pairs) + 1: consecutive pairs share a conflict
# (one conflict per primary visit). Every column the status units read is filled, computed ones included.
BASE_PAIRS = """
INSERT INTO conflictvisitmaps (
    "ID", "CONFLICTID", "VisitID", "ConVisitID", "AppVisitID", "ConAppVisitID", "VisitDate", "SSN",
    "ProviderName", "ConProviderName", "StatusFlag", "ResolveDate", "ResolvedBy", "IsMissed", "ConIsMissed",
    "ConNoResponseFlag", "SchStartTime", "SchEndTime", "ConSchStartTime", "ConSchEndTime",
    "VisitStartTime", "VisitEndTime", "ConVisitStartTime", "ConVisitEndTime",
    "ShVTSTTime", "ShVTENTime", "CShVTSTTime", "CShVTENTime",
    "Billed", "RateType", "BillRateBoth", "BilledHours", "BilledRateMinute",
    "ConBilled", "ConRateType", "ConBillRateBoth", "ConBilledHours", "ConBilledRateMinute",
    "ReverseUUID", "InServiceFlag", "PTOFlag", "CreatedDate", "UpdatedDate", "CRDATEUNIQUE")
SELECT g, v.f, v.visit, v.con, v.f, 1000000000 + g, v.day, lpad((v.f % 650000)::text, 9, '0'),
       'Agency ' || (v.f % 1000), 'Agency ' || (g % 997), v.status,
       CASE WHEN v.status IN ('R', 'D') THEN {old} END,
       CASE WHEN v.status IN ('R', 'D') THEN 'Agency ' || (g % 997) END,
       FALSE, v.status = 'R' AND g % 10 = 0,
       CASE WHEN v.status = 'N' AND g % 50 = 0 THEN 'Yes' END,
       v.start, v.start + INTERVAL '4 hours', v.start + INTERVAL '1 hour', v.start + INTERVAL '5 hours',
       v.start, v.start + INTERVAL '4 hours', v.start + INTERVAL '1 hour', v.start + INTERVAL '5 hours',
       v.start, v.start + INTERVAL '4 hours', v.start + INTERVAL '1 hour', v.start + INTERVAL '5 hours',
       'yes', 'Hourly', v.rate, 4, v.rate / 60.0, 'yes', 'Hourly', v.rate, 4, v.rate / 60.0,
       LEAST(v.a, v.b) || '_' || GREATEST(v.a, v.b),
       'N', 'N', {old}, CASE WHEN g % 3 = 0 THEN {old} END, {old}
FROM generate_series({lo}, {hi}) g,
     LATERAL (SELECT floor((g - 1) * {conflicts}::float8 / {pairs})::bigint + 1 AS f) k,
     LATERAL (
         SELECT k.f, md5('v' || k.f)::uuid AS visit, md5('c' || g)::uuid AS con,
                DATE '2024-12-01' + (k.f % 770)::int AS day,
                (DATE '2024-12-01' + (k.f % 770)::int) + INTERVAL '7 hours' + (g % 8) * INTERVAL '1 hour'
                    AS start,
                (25 + g % 5)::real AS rate,
                (md5('v' || k.f)::uuid::text || '~' || k.f) COLLATE "C" AS a,
                (md5('c' || g)::uuid::text || '~' || (1000000000 + g)) COLLATE "C" AS b,
                CASE WHEN k.f % 100 < 70 THEN 'N' WHEN k.f % 100 < 90 THEN 'R' WHEN k.f % 100 < 95 THEN 'U'
                     WHEN k.f % 100 < 98 THEN 'W' ELSE 'D' END AS status
     ) v
"""

NEW_PAIRS = """
WITH fresh AS (
    SELECT n, {first_cf} + n / 2 AS f FROM generate_series(0, {count} - 1) n
), parents AS (
    INSERT INTO conflicts ("CONFLICTID", "StatusFlag", "CreatedDate", "RECORDEDDATETIME")
    SELECT DISTINCT f, 'N', {at}, {at} FROM fresh
)
INSERT INTO conflictvisitmaps (
    "CONFLICTID", "VisitID", "ConVisitID", "AppVisitID", "ConAppVisitID", "VisitDate", "SSN",
    "ProviderName", "ConProviderName", "StatusFlag", "IsMissed", "ConIsMissed",
    "SchStartTime", "SchEndTime", "ConSchStartTime", "ConSchEndTime",
    "Billed", "RateType", "BillRateBoth", "BilledHours", "ConBilled", "ConRateType", "ConBillRateBoth",
    "ConBilledHours", "InServiceFlag", "PTOFlag", "CreatedDate", "CRDATEUNIQUE")
SELECT f, md5('nv' || f)::uuid, md5('nc' || n || '-' || {tag})::uuid, f, 2000000000 + n,
       DATE '2026-11-01' + (n % 60), lpad((n % 650000)::text, 9, '0'), 'Agency ' || (f % 1000),
       'Agency ' || (n % 997), 'N', FALSE, n % 33 = 0,
       TIMESTAMP '2026-11-01 08:00' + (n % 60) * INTERVAL '1 day',
       TIMESTAMP '2026-11-01 12:00' + (n % 60) * INTERVAL '1 day',
       TIMESTAMP '2026-11-01 09:00' + (n % 60) * INTERVAL '1 day',
       TIMESTAMP '2026-11-01 13:00' + (n % 60) * INTERVAL '1 day',
       'no', 'Daily', 200, 0, 'yes', 'Hourly', 27, 4, 'N', 'N', {at}, {at}
FROM fresh
"""

# Changes to random untouched rows (ids drawn with a fixed seed).
REDETECTED = """
UPDATE conflictvisitmaps c
SET "UpdatedDate" = {at},
    "StatusFlag" = CASE WHEN c."StatusFlag" IN ('W', 'I', 'D') THEN c."StatusFlag" ELSE 'U' END,
    "ResolveDate" = CASE WHEN c."StatusFlag" = 'R' THEN NULL ELSE c."ResolveDate" END,
    "ResolvedBy" = CASE WHEN c."StatusFlag" = 'R' THEN NULL ELSE c."ResolvedBy" END,
    "VisitStartTime" = c."VisitStartTime" + INTERVAL '5 minutes'
FROM (SELECT DISTINCT (1 + floor(random() * {pairs}))::bigint AS id FROM generate_series(1, {count})) r
WHERE c."ID" = r.id
"""
STALE = """
UPDATE conflictvisitmaps c
SET "StatusFlag" = 'R', "ResolveDate" = COALESCE(c."ResolveDate", {at}), "UpdatedDate" = {at}
FROM (SELECT DISTINCT (1 + floor(random() * {pairs}))::bigint AS id FROM generate_series(1, {count})) r
WHERE c."ID" = r.id AND c."StatusFlag" IN ('N', 'U')
"""
USER_CONFLICTS = """
UPDATE conflicts f
SET "StatusFlag" = CASE WHEN r.id % 4 = 0 THEN 'R' WHEN r.id % 4 = 1 THEN 'W' ELSE f."StatusFlag" END,
    "ResolveDate" = CASE WHEN r.id % 4 < 2 THEN {at} ELSE f."ResolveDate" END,
    "ResolvedBy" = CASE WHEN r.id % 4 < 2 THEN 'user' ELSE f."ResolvedBy" END,
    "NoResponseFlag" = CASE WHEN r.id % 4 = 2 THEN 'Yes' ELSE f."NoResponseFlag" END,
    "NoResponseDate" = CASE WHEN r.id % 4 = 2 THEN {at} ELSE f."NoResponseDate" END,
    "FlagForReview" = CASE WHEN r.id % 4 = 3 THEN 'Y' ELSE f."FlagForReview" END,
    "FlagForReviewDate" = CASE WHEN r.id % 4 = 3 THEN {at} ELSE f."FlagForReviewDate" END
FROM (SELECT DISTINCT (1 + floor(random() * {conflicts}))::bigint AS id FROM generate_series(1, {count})) r
WHERE f."CONFLICTID" = r.id
"""
USER_PAIRS = """
UPDATE conflictvisitmaps c
SET "StatusFlag" = CASE WHEN r.id % 3 = 0 THEN 'R' ELSE c."StatusFlag" END,
    "ResolveDate" = CASE WHEN r.id % 3 = 0 THEN {at} ELSE c."ResolveDate" END,
    "ConNoResponseFlag" = CASE WHEN r.id % 3 = 1 THEN 'Yes' ELSE c."ConNoResponseFlag" END,
    "ConNoResponseDate" = CASE WHEN r.id % 3 = 1 THEN {at} ELSE c."ConNoResponseDate" END,
    "FlagForReview" = CASE WHEN r.id % 3 = 2 THEN 'Y' ELSE c."FlagForReview" END,
    "FlagForReviewDate" = CASE WHEN r.id % 3 = 2 THEN {at} ELSE c."FlagForReviewDate" END
FROM (SELECT DISTINCT (1 + floor(random() * {pairs}))::bigint AS id FROM generate_series(1, {count})) r
WHERE c."ID" = r.id
"""


def build_base(dsn: str, schema: str, pairs: int) -> dict[str, Any]:
    """The untouched tables: `pairs` CVM rows and their conflicts, loaded without secondary indexes,
    which are then rebuilt (as a restore would), vacuumed and analysed."""
    conflicts = round(pairs / 1.16)
    fresh_schema(dsn, schema)
    started = time.perf_counter()
    with connect(dsn, schema, autocommit=True) as conn:
        indexes = conn.execute(
            """SELECT indexname, indexdef FROM pg_indexes
               WHERE schemaname = %s AND tablename IN ('conflictvisitmaps', 'conflicts')
                 AND indexname NOT LIKE '%%pkey'""",
            (schema,),
        ).fetchall()
        conn.execute("DROP MATERIALIZED VIEW IF EXISTS mv_payer_conflicts_common")
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        step = 1_000_000
        for lo in range(1, conflicts + 1, step):
            _run_sql(conn, BASE_CONFLICTS.replace("{old}", OLD), lo=lo, hi=min(lo + step - 1, conflicts))
        for lo in range(1, pairs + 1, step):
            _run_sql(
                conn,
                BASE_PAIRS.replace("{old}", OLD),
                lo=lo,
                hi=min(lo + step - 1, pairs),
                conflicts=conflicts,
                pairs=pairs,
            )
        for _, definition in indexes:
            conn.execute(definition.encode())
        conn.execute("SELECT setval(pg_get_serial_sequence('conflictvisitmaps', 'ID'), %s)", (pairs,))
        conn.execute("SELECT setval(pg_get_serial_sequence('conflicts', 'CONFLICTID'), %s)", (conflicts,))
        conn.execute("VACUUM (ANALYZE) conflictvisitmaps")
        conn.execute("VACUUM (ANALYZE) conflicts")
    return {"pairs": pairs, "conflicts": conflicts, "build_seconds": round(time.perf_counter() - started, 1)}


def apply_day(
    dsn: str, schema: str, source_dir: Path, base: dict[str, Any], scale: float, day: int, at: datetime
) -> dict[str, int]:
    """One day of pipeline and user changes at `at` (business wall clock), and the day's deletions."""
    n = {key: max(1, round(value * scale)) for key, value in PER_RUN.items()}
    at_sql = f"TIMESTAMP '{at:%Y-%m-%d %H:%M:%S}'"
    with connect(dsn, schema, autocommit=True) as conn:
        conn.execute("SELECT setseed(%s)", (0.001 * day,))
        first_cf = conn.execute('SELECT max("CONFLICTID") + 1 FROM conflicts').fetchone()
        assert first_cf is not None
        _run_sql(
            conn, NEW_PAIRS.replace("{at}", at_sql), first_cf=int(first_cf[0]), count=n["new_pairs"], tag=day
        )
        sizes = {"pairs": base["pairs"], "conflicts": base["conflicts"]}
        _run_sql(conn, REDETECTED.replace("{at}", at_sql), count=n["updated_pairs"], pairs=sizes["pairs"])
        _run_sql(conn, STALE.replace("{at}", at_sql), count=n["stale_pairs"], pairs=sizes["pairs"])
        _run_sql(
            conn,
            USER_CONFLICTS.replace("{at}", at_sql),
            count=n["user_conflicts"],
            conflicts=sizes["conflicts"],
        )
        _run_sql(conn, USER_PAIRS.replace("{at}", at_sql), count=n["user_pairs"], pairs=sizes["pairs"])
        known = [
            str(r[0])
            for r in conn.execute(
                """SELECT CASE WHEN r.id %% 2 = 0 THEN c."VisitID" ELSE c."ConVisitID" END
                   FROM (SELECT DISTINCT (1 + floor(random() * %s))::bigint AS id
                         FROM generate_series(1, %s)) r
                   JOIN conflictvisitmaps c ON c."ID" = r.id""",
                (base["pairs"], n["deleted_in_table"]),
            ).fetchall()
        ]
    unknown = [str(uuid.uuid4()) for _ in range(n["deleted_ids"] - len(known))]
    ids = known + unknown
    updated = at.replace(tzinfo=NY)
    conn_sf = connect_source(source_dir)
    try:
        write_source_rows(
            conn_sf,
            "FACTVISITCALLPERFORMANCE_DELETED_CR",
            pa.table(
                {
                    "Visit Id": pa.array(ids, pa.string()),
                    "Visit Date": pa.array(
                        [datetime(2026, 11, 10, tzinfo=NY)] * len(ids), pa.timestamp("us", "UTC")
                    ),
                    "Visit Updated Timestamp": pa.array([updated] * len(ids), pa.timestamp("us", "UTC")),
                }
            ),
        )
    finally:
        conn_sf.close()
    return n


@dataclass
class Size:
    """One size of the benchmark: its schema, untouched tables, Snowflake emulation and measured runs."""

    factor: int
    schema: str
    source_dir: Path
    base: dict[str, Any]
    previous: datetime | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)


def create_source(source_dir: Path) -> None:
    release_emulation()  # one emulation directory per process at a time
    conn = connect_source(source_dir)
    try:
        create_source_schema(conn)
    finally:
        conn.close()


def measure_run(dsn: str, size: Size, scale: float, run: int, unit_seconds: dict[str, float]) -> None:
    """One day: the day's changes, the timed status step, then the cleanup step's VACUUM ANALYZE (D21)."""
    now = FIRST_RUN + timedelta(days=run)
    at = (now - timedelta(hours=6)).astimezone(NY).replace(tzinfo=None)
    create_source(size.source_dir)
    day = apply_day(dsn, size.schema, size.source_dir, size.base, scale, run, at)
    params = Params()
    ctx = RunContext.create(params, now=now, watermark=size.previous)
    res = Resources(pg_dsn=dsn, schema=size.schema, source_dir=size.source_dir)
    unit_seconds.clear()
    seconds, result = timed(partial(status_step.run, res, ctx, params))
    size.previous = now
    entry = {
        "run": run,
        "warm_up": run == 0,
        "seconds": round(seconds, 3),
        "changes": day,
        "counts": result.counts,
        "unit_seconds": dict(unit_seconds),
    }
    print({"size": f"x{size.factor}", **entry})
    size.runs.append(entry)
    with connect(dsn, size.schema, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) conflictvisitmaps")
        conn.execute("VACUUM (ANALYZE) conflicts")


def timing(name: str | None, original: Any, unit_seconds: dict[str, float]) -> Any:
    """`original`, recording its seconds under `name` (or the name of the unit it runs)."""

    def timed_call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            unit_seconds[name or args[1].name] = round(time.perf_counter() - started, 3)

    return timed_call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dsn")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--factor", type=int, default=10, help="untouched rows of the large size, as a multiple")
    ap.add_argument("--runs", type=int, default=5, help="measured runs per size (after one warm-up)")
    args = ap.parse_args()
    base_pairs = round(PRODUCTION_PAIRS * args.scale)
    unit_seconds: dict[str, float] = {}
    with (
        pg_server(args.pg_dsn) as dsn,
        tempfile.TemporaryDirectory(prefix="bench-status-sf-") as tmp,
        mock.patch.object(status_store, "run_unit", new=timing(None, status_store.run_unit, unit_seconds)),
        mock.patch.object(
            status_step,
            "usable_deleted_visit_ids",
            new=timing("fetch", status_step.usable_deleted_visit_ids, unit_seconds),
        ),
        mock.patch.object(
            status_store,
            "load_deleted_visit_ids",
            new=timing("load_deleted", status_store.load_deleted_visit_ids, unit_seconds),
        ),
        mock.patch.object(
            status_store,
            "build_delta_scope",
            new=timing("scope", status_store.build_delta_scope, unit_seconds),
        ),
    ):
        sizes = []
        for factor in sorted({1, args.factor}):
            schema = f"bench_status_x{factor}"
            base = build_base(dsn, schema, base_pairs * factor)
            print(f"{schema}: {base}")
            sizes.append(Size(factor, schema, Path(tmp) / schema, base))
        # The sizes take turns day by day, so that load from elsewhere on the machine hits both alike.
        for run in range(args.runs + 1):
            for size in sizes:
                measure_run(dsn, size, args.scale, run, unit_seconds)
        release_emulation()
        medians = {}
        for size in sizes:
            measured = [r for r in size.runs if not r["warm_up"]]
            name = f"status-sf{args.scale:g}-x{size.factor}"
            write_result(
                name, {**vars(args), "size_factor": size.factor, "base": size.base}, measured, "seconds"
            )
            medians[size.factor] = statistics.median(r["seconds"] for r in measured)
            with connect(dsn, size.schema, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(size.schema)))
    ratio = medians[args.factor] / medians[1]
    print(
        f"status delta scope: median {medians[1]:.2f}s at x1, {medians[args.factor]:.2f}s at "
        f"x{args.factor} (ratio {ratio:.2f})"
    )


if __name__ == "__main__":
    main()
