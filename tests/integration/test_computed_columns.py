"""The pair writer sets Phase C's computed columns on the rows it writes (store/computed.py): the same
rows written with that (the pipeline's writers) and without it (Phase C alone computes them) end, after
Phase C, with identical values in every computed column, and Phase C has nothing left to write on the
writer's rows. Regular and InService writers; new pairs (Arrow) and updated pairs (SQL); rows outside the
window, NULL and edge inputs, keys too long for ReverseUUID (D23), stored rates within the tolerance,
existing keys.

Decisions: D15 (Phase C's rules, the billed rate with exact schedule hours, as the writer restates
them), D16 (the writer's shortcut reaches the end state of Phase C's full-window pass), D1 (the writer
uses the run's one window), D23 (a key too long is skipped and counted by Phase C on both paths)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.support.schemas import migrated_schema
from visit_conflicts.columns import INSERVICE_DATE_COLUMNS
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.step_api import Resources
from visit_conflicts.steps import status
from visit_conflicts.store.computed import COMPUTED_COLUMNS
from visit_conflicts.store.db import connect
from visit_conflicts.store.detect import INSERVICE, REGULAR, PairKind, PairWriter

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
PHASE_C = ["computed_time_columns", "computed_billed_rate", "computed_reverse_uuid"]
BASE = (
    "VisitID",
    "ConVisitID",
    "SSN",
    "VisitDate",
    "AppVisitID",
    "ConAppVisitID",
    *(
        f"{p}{c}"
        for p in ("", "Con")
        for c in ("VisitStartTime", "VisitEndTime", "SchStartTime", "SchEndTime")
    ),
    *(f"{p}{c}" for p in ("", "Con") for c in ("Billed", "RateType", "BillRateBoth", "BilledHours")),
)
KINDS = {"regular": (REGULAR, BASE), "inservice": (INSERVICE, (*BASE, *INSERVICE_DATE_COLUMNS))}


def _context() -> RunContext:
    return RunContext.create(Params(), now=NOW, watermark=NOW - timedelta(days=1))


def _time(rng: random.Random, day: date) -> datetime | None:
    if rng.random() < 0.2:
        return None
    micro = rng.choice([0, 0, 123456])
    return datetime(
        day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), rng.randrange(60), micro
    )


def _pair(
    rng: random.Random, kind: PairKind, columns: tuple[str, ...], window: tuple[date, date]
) -> dict[str, Any]:
    start, end = window
    day = rng.choice(
        [start - timedelta(days=3), start, end, end + timedelta(days=2)] + [end - timedelta(days=40)] * 8
    )
    values: dict[str, Any] = {
        "VisitID": str(uuid.UUID(int=rng.getrandbits(128))),
        "ConVisitID": str(uuid.UUID(int=rng.getrandbits(128))),
        "SSN": "111-22-3333",
        "VisitDate": day,
        "AppVisitID": rng.choice([None, 7, 123456, -42, 9_000_000_000_000_000_001]),
        "ConAppVisitID": rng.choice([None, 8, 654321, 9_000_000_000_000_000_002]),
    }
    for p in ("", "Con"):
        for c in ("VisitStartTime", "VisitEndTime", "SchStartTime", "SchEndTime"):
            values[f"{p}{c}"] = _time(rng, day)
        if rng.random() < 0.2:  # an empty schedule
            values[f"{p}SchEndTime"] = values[f"{p}SchStartTime"]
        values[f"{p}Billed"] = rng.choice([None, "yes", "no", "YES"])
        values[f"{p}RateType"] = rng.choice([None, "Hourly", "Daily", "Visit", "Weekly"])
        values[f"{p}BillRateBoth"] = rng.choice([None, 0.0, -5.0, 30.0, 27.3, 0.001, 123.456])
        values[f"{p}BilledHours"] = rng.choice([None, 0.0, 8.0, 7.3, -1.0])
    if kind is INSERVICE:
        for c in INSERVICE_DATE_COLUMNS:
            values[c] = None
        values["ConInserviceStartDate"] = datetime(day.year, day.month, day.day, 9, 0)
        values["ConInserviceEndDate"] = rng.choice([None, datetime(day.year, day.month, day.day, 11, 30)])
        values["ConVisitStartTime"] = values["ConSchStartTime"] = None
    return {c: values[c] for c in columns}


def _changed(
    rng: random.Random,
    kind: PairKind,
    columns: tuple[str, ...],
    window: tuple[date, date],
    old: dict[str, Any],
) -> dict[str, Any]:
    """The same pair with some written columns changed (always at least SSN, so it is updated)."""
    fresh = _pair(rng, kind, columns, window)
    new = dict(old, SSN="999-88-7777")
    for c in rng.sample([c for c in columns if c not in ("VisitID", "ConVisitID", "SSN")], k=4):
        new[c] = fresh[c]
    return new


@pytest.fixture
def schemas(pg_server_dsn: str) -> Iterator[tuple[str, str]]:
    with migrated_schema(pg_server_dsn) as computed, migrated_schema(pg_server_dsn) as plain:
        yield computed, plain


def _write(
    dsn: str,
    schema: str,
    kind: PairKind,
    columns: tuple[str, ...],
    rows: list[dict[str, Any]],
    window: tuple[date, date] | None,
    now: datetime,
) -> None:
    with connect(dsn, schema) as conn:
        conn.autocommit = False
        writer = PairWriter(conn, columns, run_id="r", chunk=0, kind=kind, window=window)
        writer.write_batch([tuple(r[c] for c in columns) for r in rows], now=now)


def _phase_c(dsn: str, schema: str, ctx: RunContext) -> dict[str, int]:
    p = Params(status_scope="window", enable_phase_b=False, status_units=PHASE_C)
    counts = status.run(Resources(pg_dsn=dsn, schema=schema), ctx, p).counts
    return {k: v for k, v in counts.items() if k in (*PHASE_C, "skipped_reverse_uuid_too_long")}


def _computed(dsn: str, schema: str) -> list[tuple[Any, ...]]:
    with connect(dsn, schema) as conn:
        return conn.execute(
            sql.SQL('SELECT "VisitID", "ConVisitID", {} FROM conflictvisitmaps ORDER BY 1, 2').format(
                sql.SQL(", ").join(map(sql.Identifier, COMPUTED_COLUMNS))
            )
        ).fetchall()


def _assert_same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """Equal rows, or the first differences by key and column."""
    names = ("VisitID", "ConVisitID", *COMPUTED_COLUMNS)
    diffs = [
        (r[0], r[1], name, a, b)
        for r, e in zip(got, expected, strict=True)
        for name, a, b in zip(names, r, e, strict=True)
        if a != b
    ]
    assert not diffs, diffs[:5]


def _disturb(dsn: str, schema: str, keys: list[tuple[str, str]]) -> None:
    """Stored values a later update must respect or repair: a rate within the tolerance (kept), one
    beyond it (recomputed), an existing key (never recomputed), a missing time (recomputed)."""
    with connect(dsn, schema) as conn:
        for i, (v, c) in enumerate(keys):
            change = [
                '"BilledRateMinute" = "BilledRateMinute" + 0.00005',
                '"ConBilledRateMinute" = COALESCE("ConBilledRateMinute", 0) + 0.01',
                "\"ReverseUUID\" = 'legacy-key'",
                '"ShVTSTTime" = NULL',
            ][i % 4]
            conn.execute(
                f'UPDATE conflictvisitmaps SET {change} WHERE "VisitID" = %s AND "ConVisitID" = %s', (v, c)
            )


def _round(
    dsn: str,
    schemas: tuple[str, str],
    kind: PairKind,
    columns: tuple[str, ...],
    rows: list[dict[str, Any]],
    ctx: RunContext,
    now: datetime,
) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """`rows` written to the first schema by a writer that computes, to the second by one that does not,
    then Phase C over both: it writes nothing in the first and both end equal. Returns Phase C's counts
    in the second and the computed columns."""
    computed, plain = schemas
    _write(dsn, computed, kind, columns, rows, (ctx.window_start, ctx.window_end), now)
    _write(dsn, plain, kind, columns, rows, None, now)
    counts_computed, counts_plain = _phase_c(dsn, computed, ctx), _phase_c(dsn, plain, ctx)
    assert {counts_computed[u] for u in PHASE_C} == {0}
    too_long = "skipped_reverse_uuid_too_long"
    assert counts_computed[too_long] == counts_plain[too_long] > 0
    values = _computed(dsn, computed)
    _assert_same(values, _computed(dsn, plain))
    return counts_plain, values


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_the_writer_computes_what_phase_c_would_and_phase_c_rewrites_none_of_its_rows(
    pg_server_dsn: str, schemas: tuple[str, str], kind_name: str
) -> None:
    kind, columns = KINDS[kind_name]
    ctx = _context()
    window = (ctx.window_start, ctx.window_end)
    rng = random.Random(20261206)
    first = [_pair(rng, kind, columns, window) for _ in range(300)]

    # New pairs (the Arrow path).
    counts_plain, after_insert = _round(pg_server_dsn, schemas, kind, columns, first, ctx, NOW)
    assert min(counts_plain[u] for u in PHASE_C) > 50  # Phase C alone had to compute them
    for i, name in enumerate(COMPUTED_COLUMNS, start=2):  # every column has values and NULLs
        assert {r[i] is None for r in after_insert} == {True, False}, name

    # Stored pairs changed by the source (the SQL path), some with stored values to keep or repair.
    changed = [_changed(rng, kind, columns, window, r) for r in rng.sample(first, k=150)]
    keys = [(r["VisitID"], r["ConVisitID"]) for r in changed[:60]]
    for schema in schemas:
        _disturb(pg_server_dsn, schema, keys)
    counts_plain, final = _round(pg_server_dsn, schemas, kind, columns, changed, ctx, NOW + timedelta(days=1))
    assert min(counts_plain[u] for u in PHASE_C) > 0
    assert final != after_insert
    by_key = {(str(r[0]), str(r[1])): r for r in final}
    assert sum(by_key[k][COMPUTED_COLUMNS.index("ReverseUUID") + 2] == "legacy-key" for k in keys) == 15


def test_a_writer_that_computes_refuses_the_computed_columns_as_input(pg: psycopg.Connection) -> None:
    ctx = _context()
    with pytest.raises(ValueError, match="computed columns"):
        PairWriter(pg, (*BASE, "ReverseUUID"), run_id="r", chunk=0, window=(ctx.window_start, ctx.window_end))
