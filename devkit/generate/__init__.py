"""Synthetic source data: the Snowflake source tables (`ANALYTICS.BI`) plus the PostgreSQL reference rows.

`generate` (re)creates every source table in the emulation at `source_dir`, fills it with a realistic bulk
(scale 1 = production volume, ~58M visits in the 2-year + 45-day window) and with planted cases whose
expected outcome is recorded in `source_dir/manifest.json`, and replaces the PostgreSQL reference tables
(`settings`, `mph`, `excluded_ssn`, `excluded_agency`). The output is a pure function of
(seed, scale, anchor). `mutate` then simulates one day of source changes for an incremental rerun.

Module map: `context` (seed, windows, time), `world` (dimensions and people), `visits` (bulk facts),
`cases` (planted cases), `writer` (emulation and PostgreSQL writes), `manifest`, `mutate`.
"""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from devkit.emulation import create_source_schema, drop_source_schema
from devkit.generate.cases import EXTRA_DISTANCE_PER, MPH_BANDS, plant_cases
from devkit.generate.context import (
    BUSINESS_TZ_NAME,
    LOOKBACK_HOURS,
    LOOKBACK_YEARS,
    LOOKFORWARD_DAYS,
    US_PER_DAY,
    GenContext,
    GenerateError,
    day_number,
    local_datetime,
    utc_instant,
)
from devkit.generate.manifest import FORMAT_VERSION, Manifest
from devkit.generate.mutate import mutate
from devkit.generate.visits import VisitChunk, plan_visits, visit_chunk
from devkit.generate.world import build_world
from devkit.generate.writer import count_source_rows, write_reference_tables, write_source_rows
from visit_conflicts.progress import task as progress_task
from visit_conflicts.source.connection import connect_source

__all__ = ["GenerateError", "Manifest", "generate", "mutate"]

log = logging.getLogger(__name__)

# First application ids of bulk rows (planted rows use ranges far above these).
APP_VISIT_ID_BASE = 100_000_000
APP_DELETED_ID_BASE = 800_000_000
APP_INSERVICE_ID_BASE = 5_000_000


def generate(
    source_dir: Path,
    pg_conn: psycopg.Connection,
    *,
    scale: float,
    seed: int,
    anchor: datetime,
    bad_input: bool = False,
) -> Manifest:
    """Write the source tables at `source_dir` and the reference tables through `pg_conn`.

    `anchor` is the "now" of the intended first run (tz-aware; business time zone America/New_York): the
    visit window is [anchor date - 2 years, anchor date + 45 days] and the delta cutoff anchor - 36 h.
    `pg_conn` must have the target schema on its search_path. With `bad_input`, the D23 bad-input
    catalogue is planted too (`cases/bad_input.py`). Returns the manifest it wrote.
    """
    ctx = GenContext.create(seed=seed, scale=scale, anchor=anchor)
    started = time.perf_counter()
    world = build_world(ctx)
    planted = plant_cases(ctx, bad_input=bad_input)
    plan = plan_visits(ctx, world)
    bulk: dict[str, int] = dict(world.stats)
    conn = connect_source(Path(source_dir))
    # A regenerated source starts a new history: earlier mutation records no longer apply.
    shutil.rmtree(Path(source_dir) / "mutations", ignore_errors=True)
    try:
        drop_source_schema(conn)
        create_source_schema(conn)
        for table, rows in world.tables.items():
            write_source_rows(conn, table, rows)
        for table, rows in planted.tables().items():
            write_source_rows(conn, table, rows)
        first_update = ctx.anchor_local_us
        next_visit, next_deleted, next_inservice = (
            APP_VISIT_ID_BASE,
            APP_DELETED_ID_BASE,
            APP_INSERVICE_ID_BASE,
        )
        # One writer thread: the emulation's insert runs while the next chunk is generated (both mostly
        # release the GIL). Chunks are still written one at a time and in order, so the content is the same.
        # A bar on a terminal only (visit_conflicts.progress): one unit per visit chunk written.
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="vc-generate-writer") as writer,
            progress_task("generate", total=len(plan.chunks), unit="chunk") as bar,
        ):
            pending: Future[None] | None = None
            for index in range(len(plan.chunks)):
                chunk = visit_chunk(
                    ctx,
                    world,
                    plan,
                    index,
                    first_app_visit_id=next_visit,
                    first_app_deleted_id=next_deleted,
                    first_app_inservice_id=next_inservice,
                )
                next_visit += chunk.visits.num_rows
                next_deleted += chunk.deleted.num_rows
                next_inservice += chunk.inservice.num_rows
                first_update = min(first_update, chunk.first_update_us)
                for key, value in chunk.stats.items():
                    bulk[key] = bulk.get(key, 0) + value
                if pending is not None:
                    pending.result()  # at most one chunk waits in memory
                    bar.advance()
                pending = writer.submit(_write_chunk, conn, chunk)
                log.info(
                    "generate: chunk %d/%d generated (%d visits so far, %.1f s)",
                    index + 1,
                    len(plan.chunks),
                    bulk["visits"],
                    time.perf_counter() - started,
                )
            if pending is not None:
                pending.result()
                bar.advance()
        counts = count_source_rows(conn)
    finally:
        conn.close()
    excluded_ssns = world.excluded_ssns + planted.excluded_ssns
    excluded_agencies = world.excluded_agencies + planted.excluded_agencies
    reference = write_reference_tables(
        pg_conn, excluded_ssns=excluded_ssns, excluded_agencies=excluded_agencies
    )
    designed_share = round(100 * bulk["designed_overlap_visits"] / bulk["visits_in_window"], 2)
    manifest = Manifest(
        {
            "format_version": FORMAT_VERSION,
            "seed": ctx.seed,
            "scale": ctx.scale,
            "anchor": ctx.anchor.isoformat(),
            "time_zone": BUSINESS_TZ_NAME,
            "parameters": {
                "lookback_years": LOOKBACK_YEARS,
                "lookforward_days": LOOKFORWARD_DAYS,
                "lookback_hours": LOOKBACK_HOURS,
            },
            "window": {"start": ctx.window_start.isoformat(), "end": ctx.window_end.isoformat()},
            "delta_cutoff": ctx.cutoff.isoformat(),
            # A run with `since` = this detects every group of the window (a first load, as production
            # holds it after years of nightly runs); without it a first run sees the last 36 h only.
            "first_load_since": _first_load_since(ctx, first_update).isoformat(),
            "timestamps": (
                "TIMESTAMP_TZ columns hold instants; the business (New York wall-clock) time of a value is "
                f"CONVERT_TIMEZONE('{BUSINESS_TZ_NAME}', value). \"Visit Date\" is local midnight of the "
                "scheduled date. Planted times in this manifest are New York wall-clock times."
            ),
            "reference": _reference(reference, excluded_agencies),
            "counts": counts,
            "planted_counts": {table: len(rows) for table, rows in sorted(planted.rows.items())},
            "bulk": {**bulk, "designed_overlap_share_pct": designed_share},
            "cases": planted.cases,
            "bad_input": planted.bad_input,
            "mutations": [],
        }
    )
    manifest.write(Path(source_dir))
    log.info(
        "generate: %d source visits, %d planted cases in %.1f s",
        counts["FACTVISITCALLPERFORMANCE_CR"],
        len(planted.cases),
        time.perf_counter() - started,
    )
    return manifest


def _first_load_since(ctx: GenContext, first_update_us: int) -> datetime:
    """Local midnight a day before the earliest visit update and the window start, as an instant."""
    first_day = min(first_update_us // US_PER_DAY, day_number(ctx.window_start)) - 1
    return utc_instant(local_datetime(first_day * US_PER_DAY))


def _write_chunk(conn: Any, chunk: VisitChunk) -> None:
    write_source_rows(conn, "FACTVISITCALLPERFORMANCE_CR", chunk.visits)
    write_source_rows(conn, "FACTVISITCALLPERFORMANCE_DELETED_CR", chunk.deleted)
    write_source_rows(conn, "FACTCAREGIVERINSERVICE", chunk.inservice)


def _reference(counts: dict[str, int], agencies: list[tuple[str, str, int]]) -> dict[str, Any]:
    return {
        "settings": {"ID": 0, "ExtraDistancePer": EXTRA_DISTANCE_PER},
        "mph": [{"From": lo, "To": hi, "AverageMilesPerHour": mph} for lo, hi, mph in MPH_BANDS],
        "excluded_ssn_count": counts["excluded_ssn"],
        "excluded_agency": [
            {"AgencyName": name, "ProviderID": provider_id, "AppProviderID": app}
            for name, provider_id, app in agencies
        ],
    }
