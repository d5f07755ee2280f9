"""The source changes between two runs, shaped like production's nightly delta, for an incremental rerun.

`mutate` applies the changes of one night (or of the time since the previous anchor) to a generated source
and appends a summary to the manifest. Volumes follow production's at scale 1 per day and
scale with the manifest's scale factor and the elapsed days. With nightly runs and the 36-hour lookback,
the next run then streams about 100K pairs per 36 h at scale 1: the pairs of the groups the previous run
also saw (its last 12 hours, unchanged), new pairs (31-69 % of them), a few hundred changed ones and
usually fewer than 100 stale ones. Every touched row gets a "Visit Updated Timestamp" in (previous
anchor, new anchor], so the next run's delta sees it. Planted visits are never touched.

| change (profile `nightly`), dated two weeks back to the window's end | per day at scale 1 | effect |
|---|---|---|
| the visits of the date that enters the window (booked 45 days ahead) | ~75K visits | ~12K new pairs |
| extra shifts at a second agency of a multi-agency person (future dates) | 19K days | 2-4 new pairs each |
| re-saves (EVV, billing, edits) in one-agency groups, the whole window | `fraction`: 0.2 % | scope only |
| shifts moved by 30 min - 3 h, in groups of two or more agencies | 50 | changed, few stale |
| past visits marked missed, in groups of two or more agencies | 20 | changed, then resolved |
| visits deleted (moved to the _DELETED_CR table) | 60K (1.5K paired) | deleted ids, 'D' pairs |
| InService sessions booked 1-30 days ahead | 1.1K | InService scope |

With the base's deletions of the last 36 h, the next run fetches ~90K deleted ids at scale 1 (84-97K).
Re-saved visits are limited to groups with one agency because a re-save of a paired visit changes its
pair's `LastUpdatedDate`, which the pipeline writes (D11 amendment): production's "0-300 changed" counts
the legacy's compared columns only, never `LastUpdated*` (docs/legacy-differences.md, D11). Profile
`bulk` adds a bulk refresh: `fraction` (default 80 %) of every visit of the window re-saved at one
instant, so most groups of the window are re-detected and their pairs' `LastUpdatedDate` changes.

The ids of every change (except bulk re-saves) go to `mutations/NNN.json`, a summary to the manifest.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from devkit.generate.context import (
    BUSINESS_TZ,
    TS_TYPE,
    GenContext,
    GenerateError,
    Stream,
    day_number,
    local_us,
    utc_instant,
)
from devkit.generate.manifest import Manifest
from devkit.generate.visits import (
    MO,
    MOO,
    expand_person_days,
    inservice_events,
    person_days,
    plan_visits,
)
from devkit.generate.world import build_world
from devkit.generate.writer import count_source_rows, write_source_rows
from visit_conflicts.source.connection import connect_source
from visit_conflicts.source.schema import source_columns

CR = "FACTVISITCALLPERFORMANCE_CR"
DELETED = "FACTVISITCALLPERFORMANCE_DELETED_CR"
INSERVICE = "FACTCAREGIVERINSERVICE"
Profile = Literal["nightly", "bulk"]
PROFILES: tuple[Profile, ...] = ("nightly", "bulk")
# Changes to existing visits fall on dates from two weeks back to the end of the window.
RECENT_DAYS = 14
# Per day at scale 1 (module table).
EXTRA_SHIFTS_PER_DAY = 19_000
EXTRA_SHIFT_OVERLAPPED_SPLIT_SHARE = 0.3
MOVES_PER_DAY = 50
MISSED_PER_DAY = 20
DELETES_PER_DAY = 60_000
CONFLICT_DELETES_PER_DAY = 1_500
INSERVICE_PER_DAY = 1_100
INSERVICE_AHEAD_DAYS = 30
DEFAULT_FRACTION: dict[Profile, float] = {"nightly": 0.002, "bulk": 0.8}
# Application ids of visits and InService events that mutations add (the bulk's end far below them).
APP_VISIT_ID_BASE = 700_000_000
APP_INSERVICE_ID_BASE = 50_000_000
# Planted visits carry application ids from 990,000,000 (devkit/generate/cases/planter.py).
PLANTED_APP_ID = "990000000"
_TIME_COLUMNS = (
    "Scheduled Start Time",
    "Scheduled End Time",
    "Visit Start Time",
    "Visit End Time",
    "Call In Time",
    "Call Out Time",
)

# Generator-only statements (the pipeline never runs them), kept beside the code that owns the data.
# Visits of [lo, hi) in hash order (a deterministic sample) with the number of agencies of their group
# (date, trimmed SSN); only groups with several agencies (or only those with one); planted visits left out.
_SAMPLE_SQL = """
WITH visits AS (
    SELECT cr."Visit Id" AS visit_id,
           CAST(cr."Visit Date" AS DATE) AS visit_date,
           TRIM(cg."SSN") AS ssn,
           cr."Provider Id" AS provider_id,
           cr."Scheduled Start Time" AS scheduled_start,
           cr."Application Visit Id" < %(planted)s
               AND cr."Visit Id" NOT IN (SELECT VISIT_ID FROM VC_PLANTED) AS bulk,
           SUBSTR(MD5(cr."Visit Id" || %(salt)s), 1, 8) AS h
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN DIMCAREGIVER cg ON cg."Caregiver Id" = cr."Caregiver Id"
    WHERE cr."Visit Date" >= CAST(%(lo)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(hi)s AS TIMESTAMP_TZ)
),
agencies AS (
    SELECT visit_date, ssn FROM visits GROUP BY visit_date, ssn
    HAVING (COUNT(DISTINCT provider_id) > 1) = %(multi)s
)
SELECT v.visit_id, v.visit_date, v.scheduled_start
FROM visits v JOIN agencies a ON a.visit_date = v.visit_date AND a.ssn = v.ssn
WHERE v.bulk
ORDER BY v.h, v.visit_id
LIMIT %(limit)s
"""
# The window's visits whose hash falls below the threshold and whose group has one agency.
_SINGLE_AGENCY_SHARE_SQL = """
WITH candidates AS (
    SELECT cr."Visit Id" AS visit_id, CAST(cr."Visit Date" AS DATE) AS visit_date, TRIM(cg."SSN") AS ssn
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN DIMCAREGIVER cg ON cg."Caregiver Id" = cr."Caregiver Id"
    WHERE cr."Visit Date" >= CAST(%(lo)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(hi)s AS TIMESTAMP_TZ)
      AND cr."Application Visit Id" < %(planted)s
      AND cr."Visit Id" NOT IN (SELECT VISIT_ID FROM VC_PLANTED)
      AND SUBSTR(MD5(cr."Visit Id" || %(salt)s), 1, 8) < %(threshold)s
),
groups AS (SELECT DISTINCT visit_date, ssn FROM candidates),
single AS (
    SELECT g.visit_date, g.ssn
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN DIMCAREGIVER cg ON cg."Caregiver Id" = cr."Caregiver Id"
    JOIN groups g ON g.visit_date = CAST(cr."Visit Date" AS DATE) AND g.ssn = TRIM(cg."SSN")
    GROUP BY g.visit_date, g.ssn
    HAVING COUNT(DISTINCT cr."Provider Id") = 1
)
SELECT c.visit_id FROM candidates c JOIN single s ON s.visit_date = c.visit_date AND s.ssn = c.ssn
ORDER BY c.visit_id
"""


def _minute_of_day(instant: Any) -> int:
    """Minutes since New York midnight of a TIMESTAMP_TZ value (0 for NULL)."""
    if instant is None:
        return 0
    local = instant.astimezone(BUSINESS_TZ)
    return local.hour * 60 + local.minute


def _threshold(probability: float) -> str:
    """The 8-hex-digit prefix below which an MD5 falls with `probability`."""
    return f"{min(int(probability * 16**8), 16**8 - 1):08x}"


def mutate(
    source_dir: Path,
    *,
    seed: int,
    anchor: datetime | None = None,
    fraction: float | None = None,
    profile: Profile = "nightly",
) -> dict[str, Any]:
    """Apply one night's changes; returns a summary (also appended to the manifest's "mutations").

    `anchor` is the next run's "now" (default: the previous anchor + 1 day). `fraction` is the share of
    the window's visits re-saved: in groups with one agency for `nightly` (default 0.2 %), in every group
    for `bulk` (default 80 %). Deterministic per (source, seed, anchor, fraction, profile).
    """
    if profile not in PROFILES:
        raise GenerateError(f"profile {profile!r} is unknown; use one of {', '.join(PROFILES)}")
    fraction = DEFAULT_FRACTION[profile] if fraction is None else fraction
    if not (0 < fraction <= 1):
        raise GenerateError(f"fraction {fraction} is out of range; use 0 < fraction <= 1")
    source_dir = Path(source_dir)
    manifest = Manifest.load(source_dir)
    mutations = list(manifest["mutations"])
    previous = datetime.fromisoformat(mutations[-1]["anchor"] if mutations else manifest["anchor"])
    anchor = anchor or previous + timedelta(days=1)
    if anchor.tzinfo is None:
        raise GenerateError(f"anchor {anchor.isoformat()} has no time zone; pass an aware datetime")
    anchor = anchor.astimezone(BUSINESS_TZ).replace(microsecond=0)
    if anchor <= previous:
        raise GenerateError(
            f"anchor {anchor.isoformat()} must be after the previous anchor {previous.isoformat()}"
        )
    number = len(mutations) + 1
    rng = np.random.default_rng([seed, int(Stream.MUTATE), number])
    scale = float(manifest["scale"])
    days = (anchor - previous).total_seconds() / 86_400

    def per_day(volume: float, floor: int = 0) -> int:
        return max(floor, round(volume * scale * days))

    # The world of the original generation (same seed, scale and anchor), and a frame at the new anchor
    # for the visits this mutation books (their states, windows and time stamps).
    world_ctx = GenContext.create(
        seed=int(manifest["seed"]), scale=scale, anchor=datetime.fromisoformat(manifest["anchor"])
    )
    world = build_world(world_ctx)
    ctx = GenContext.create(seed=int(manifest["seed"]), scale=scale, anchor=anchor)
    prev_ctx = GenContext.create(seed=int(manifest["seed"]), scale=scale, anchor=previous)
    stamps = (local_us(previous.replace(tzinfo=None)), ctx.anchor_local_us)
    planted = sorted({v for case in manifest.cases.values() for v in case["visits"]})
    today = anchor.date()
    salt = f"{seed}:{number}"

    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        cur.execute("CREATE OR REPLACE TEMPORARY TABLE VC_PLANTED (VISIT_ID VARCHAR)")
        if planted:
            _write_temp(conn, "VC_PLANTED", pa.table({"VISIT_ID": pa.array(planted, pa.string())}))
        recent = _range(today - timedelta(days=RECENT_DAYS), ctx.window_end + timedelta(days=1))
        window = _range(ctx.window_start, ctx.window_end + timedelta(days=1))

        def sample(limit: int, *, multi: bool) -> list[tuple[Any, ...]]:
            cur.execute(
                _SAMPLE_SQL,
                {**recent, "salt": salt, "planted": PLANTED_APP_ID, "multi": multi, "limit": limit},
            )
            return list(cur.fetchall())

        # Changes to existing visits first, so that none of them falls on a visit booked below. One
        # sample of groups with several agencies, in hash order: the moves, then past visits to mark
        # missed, then deletions.
        n_move, n_missed = per_day(MOVES_PER_DAY, 1), per_day(MISSED_PER_DAY, 1)
        n_conflict_deletes = per_day(CONFLICT_DELETES_PER_DAY, 1)
        # Past visits are about a third of the sampled dates: enough rows to find the missed ones.
        multi_rows = sample(n_move + 6 * n_missed + n_conflict_deletes + 20, multi=True)
        moved = multi_rows[:n_move]
        rest = multi_rows[n_move:]
        missed = [r for r in rest if r[1] < today][:n_missed]
        conflict_deletes = [r[0] for r in rest if r not in missed][:n_conflict_deletes]
        other_deletes = [
            r[0] for r in sample(per_day(DELETES_PER_DAY - CONFLICT_DELETES_PER_DAY), multi=False)
        ]
        deletes = sorted(set(conflict_deletes) | set(other_deletes))
        taken = {r[0] for r in moved} | {r[0] for r in missed} | set(deletes)
        restamped: list[str] | None = None
        if profile == "nightly":
            cur.execute(
                _SINGLE_AGENCY_SHARE_SQL,
                {
                    **window,
                    "salt": f"{salt}:resave",
                    "planted": PLANTED_APP_ID,
                    "threshold": _threshold(fraction),
                },
            )
            restamped = [r[0] for r in cur.fetchall() if r[0] not in taken]
        shift = rng.choice([-120, -60, -30, 30, 60, 90, 120, 180], len(moved))
        # A move keeps the scheduled start on its date ("Visit Date" is the scheduled date): flip it if not.
        minute = np.array([_minute_of_day(r[2]) for r in moved], dtype=np.int64)
        shift = np.where((minute + shift < 0) | (minute + shift >= 24 * 60), -shift, shift)
        kinds = (
            [("move", r[0], int(s)) for r, s in zip(moved, shift, strict=True)]
            + [("missed", r[0], 0) for r in missed]
            + [("delete", v, 0) for v in deletes]
            + [("restamp", v, 0) for v in restamped or []]
        )
        span = int((anchor - previous).total_seconds())
        previous_us = int(previous.timestamp()) * 1_000_000
        changes = pa.table(
            {
                "VISIT_ID": pa.array([k[1] for k in kinds], pa.string()),
                "KIND": pa.array([k[0] for k in kinds], pa.string()),
                "SHIFT_MINUTES": pa.array([k[2] for k in kinds], pa.int64()),
                "UPDATED": pa.array(previous_us + rng.integers(1, span, len(kinds)) * 1_000_000, TS_TYPE),
            }
        )
        _apply(conn, changes)
        bulk_restamped = 0
        if profile == "bulk":
            bulk_restamped = _bulk_restamp(conn, window, salt, fraction, anchor - timedelta(hours=1))

        # New visits: the dates that enter the window, and extra shifts at a second agency.
        added: dict[str, list[str]] = {}
        first_app = APP_VISIT_ID_BASE + sum(m.get("added_visits", 0) for m in mutations)
        plan = plan_visits(world_ctx, world)
        new_days = range(day_number(prev_ctx.window_end) + 1, day_number(ctx.window_end) + 1)
        pd_day = np.zeros(0, np.int64)
        pd_person = np.zeros(0, np.int64)
        for day in new_days:
            d, p = person_days(rng, world, plan.work_probability, day, day)
            pd_day, pd_person = np.concatenate([pd_day, d]), np.concatenate([pd_person, p])
        window_days = expand_person_days(
            ctx, world, rng, pd_day, pd_person, pd_type=None, first_app_visit_id=first_app, stamps=stamps
        )
        first_app += window_days.visits.num_rows
        multi_persons = np.flatnonzero(world.person_multi)
        n_extra = per_day(EXTRA_SHIFTS_PER_DAY) if len(multi_persons) else 0
        extra_day = rng.integers(day_number(today) + 1, day_number(ctx.window_end) + 1, n_extra)
        extra_person = multi_persons[rng.integers(0, len(multi_persons), n_extra)]
        extra_type = np.where(rng.random(n_extra) < EXTRA_SHIFT_OVERLAPPED_SPLIT_SHARE, MOO, MO)
        extra = expand_person_days(
            ctx,
            world,
            rng,
            extra_day,
            extra_person,
            pd_type=extra_type,
            first_app_visit_id=first_app,
            stamps=stamps,
        )
        for name, part in (("window_day", window_days), ("extra_shift", extra)):
            write_source_rows(conn, CR, part.visits)
            added[name] = sorted(part.visits.column("Visit Id").to_pylist())
        first_event = APP_INSERVICE_ID_BASE + sum(m.get("added_inservice", 0) for m in mutations)
        events = inservice_events(
            ctx,
            world,
            10_000 + number,
            day_number(today) + 1,
            day_number(today) + INSERVICE_AHEAD_DAYS,
            first_event,
            candidates=np.zeros(0, np.int64),
            visit_record=np.zeros(0, np.int64),
            visit_start=np.zeros(0, np.int64),
            visit_quarters=np.zeros(0, np.int64),
            other_record=np.zeros(0, np.int64),
            stamps=stamps,
            total=per_day(INSERVICE_PER_DAY),
        )
        write_source_rows(conn, INSERVICE, events)
        cur.execute("DROP TABLE IF EXISTS VC_PLANTED")
        counts = count_source_rows(conn)
    finally:
        conn.close()

    detail: dict[str, Any] = {
        kind_name: sorted(v for k, v, _ in kinds if k == kind_name)
        for kind_name in ("move", "missed", "delete", "restamp")
    }
    detail.update(added)
    (source_dir / "mutations").mkdir(exist_ok=True)
    detail_path = source_dir / "mutations" / f"{number:03d}.json"
    detail_path.write_text(json.dumps(detail, indent=1, sort_keys=True) + "\n")
    summary = {
        "number": number,
        "seed": seed,
        "profile": profile,
        "fraction": fraction,
        "previous_anchor": previous.isoformat(),
        "anchor": anchor.isoformat(),
        "moved": len(detail["move"]),
        "missed": len(detail["missed"]),
        "deleted": len(detail["delete"]),
        "deleted_in_multi_agency_groups": len(conflict_deletes),
        "restamped": len(detail["restamp"]) + bulk_restamped,
        "window_day_visits": len(added["window_day"]),
        "extra_shift_visits": len(added["extra_shift"]),
        "added_visits": len(added["window_day"]) + len(added["extra_shift"]),
        "added_inservice": events.num_rows,
        "visit_ids_file": f"mutations/{number:03d}.json",
        "counts": counts,
    }
    data = dict(manifest.data)
    data["mutations"] = [*mutations, summary]
    Manifest(data).write(source_dir)
    return summary


def _range(lo: Any, hi: Any) -> dict[str, str]:
    """Query parameters: local midnights of two dates, as instants."""
    return {
        "lo": utc_instant(datetime.combine(lo, datetime.min.time())).isoformat(),
        "hi": utc_instant(datetime.combine(hi, datetime.min.time())).isoformat(),
    }


def _write_temp(conn: Any, table: str, rows: pa.Table) -> None:
    import pandas as pd
    from snowflake.connector.pandas_tools import write_pandas

    write_pandas(conn, rows.to_pandas(types_mapper=pd.ArrowDtype), table, quote_identifiers=True)


def _bulk_restamp(conn: Any, window: dict[str, str], salt: str, fraction: float, at: datetime) -> int:
    """A bulk refresh: `fraction` of the window's (unplanted) visits re-saved at one instant."""
    cur = conn.cursor()
    stamp = at.isoformat()
    cur.execute(
        f'UPDATE {CR} SET "Visit Updated Timestamp" = CAST(%(at)s AS TIMESTAMP_TZ), '
        '"Updated Datatimestamp" = CAST(%(at)s AS TIMESTAMP_TZ) '
        'WHERE "Visit Date" >= CAST(%(lo)s AS TIMESTAMP_TZ) AND "Visit Date" < CAST(%(hi)s AS TIMESTAMP_TZ) '
        'AND "Application Visit Id" < %(planted)s AND "Visit Id" NOT IN (SELECT VISIT_ID FROM VC_PLANTED) '
        'AND "Visit Updated Timestamp" < CAST(%(at)s AS TIMESTAMP_TZ) '
        'AND SUBSTR(MD5("Visit Id" || %(salt)s), 1, 8) < %(threshold)s',
        {
            **window,
            "at": stamp,
            "planted": PLANTED_APP_ID,
            "salt": f"{salt}:bulk",
            "threshold": _threshold(fraction),
        },
    )
    cur.execute(
        f'SELECT COUNT(*) FROM {CR} WHERE "Visit Updated Timestamp" = CAST(%(at)s AS TIMESTAMP_TZ)',
        {"at": stamp},
    )
    row = cur.fetchone()
    cur.close()
    return int(row[0]) if row else 0


def _apply(conn: Any, changes: pa.Table) -> None:
    cur = conn.cursor()
    cur.execute(
        "CREATE OR REPLACE TEMPORARY TABLE VC_MUTATION "
        "(VISIT_ID VARCHAR, KIND VARCHAR, SHIFT_MINUTES INTEGER, UPDATED TIMESTAMP_TZ)"
    )
    if changes.num_rows:
        _write_temp(conn, "VC_MUTATION", changes)
    shifted = ", ".join(
        f'"{c}" = DATEADD(minute, VC_MUTATION.SHIFT_MINUTES, {CR}."{c}")' for c in _TIME_COLUMNS
    )
    stamped = '"Visit Updated Timestamp" = VC_MUTATION.UPDATED, "Updated Datatimestamp" = VC_MUTATION.UPDATED'
    cur.execute(
        f"UPDATE {CR} SET {shifted}, {stamped} FROM VC_MUTATION "
        f"WHERE {CR}.\"Visit Id\" = VC_MUTATION.VISIT_ID AND VC_MUTATION.KIND = 'move'"
    )
    cur.execute(
        f'UPDATE {CR} SET "Is Missed" = TRUE, "Missed Visit Reason" = \'Caregiver No Show\', {stamped} '
        f"FROM VC_MUTATION WHERE {CR}.\"Visit Id\" = VC_MUTATION.VISIT_ID AND VC_MUTATION.KIND = 'missed'"
    )
    cur.execute(
        f"UPDATE {CR} SET {stamped} FROM VC_MUTATION "
        f"WHERE {CR}.\"Visit Id\" = VC_MUTATION.VISIT_ID AND VC_MUTATION.KIND = 'restamp'"
    )
    replaced = {
        "Permanent Deleted": "TRUE",
        "Visit Updated Timestamp": "m.UPDATED",
        "Updated Datatimestamp": "m.UPDATED",
    }
    columns = [name for name, _ in source_columns(DELETED)]
    select = ", ".join(replaced.get(name, f'cr."{name}"') for name in columns)
    target = ", ".join(f'"{name}"' for name in columns)
    cur.execute(
        f"INSERT INTO {DELETED} ({target}) SELECT {select} FROM {CR} cr "
        "JOIN VC_MUTATION m ON m.VISIT_ID = cr.\"Visit Id\" WHERE m.KIND = 'delete'"
    )
    cur.execute(
        f"DELETE FROM {CR} WHERE \"Visit Id\" IN (SELECT VISIT_ID FROM VC_MUTATION WHERE KIND = 'delete')"
    )
    cur.execute("DROP TABLE IF EXISTS VC_MUTATION")
    cur.close()
