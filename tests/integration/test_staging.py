"""The staging step (D17, D23): payer dimension syncs and the atomic
conflictlog_staging rebuild, on the real PostgreSQL server and the Snowflake emulation.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.support.source_rows import SourceRows
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.connection import connect_source
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.steps import staging as staging_step
from visit_conflicts.store.db import connect
from visit_conflicts.store.staging import StagingError, StagingRebuild, rebuild_conflictlog_staging

WINDOW_START, WINDOW_END = date(2024, 1, 1), date(2024, 12, 31)
IN_WINDOW = date(2024, 5, 15)
NOW = datetime(2024, 5, 12, 12, 0)
READ_STAGING = """SELECT (SELECT "InProgressFlag" FROM settings), count(*), COALESCE(sum("ID"), 0)
                  FROM conflictlog_staging"""


def seed_conflicts(
    pg: psycopg.Connection,
    n: int,
    *,
    visit_date: date = IN_WINDOW,
    parent_status: str = "N",
    pair_status: str = "U",
    with_parent: bool = True,
) -> None:
    """`n` CVM rows, each with its own parent conflict (or none)."""
    pg.execute(
        """WITH parent AS (
               INSERT INTO conflicts ("StatusFlag", "CreatedDate")
               SELECT %(parent_status)s, %(now)s FROM generate_series(1, %(n)s)
               RETURNING "CONFLICTID"
           )
           INSERT INTO conflictvisitmaps ("CONFLICTID", "VisitID", "ConVisitID", "SSN", "VisitDate",
                                          "StatusFlag", "InServiceFlag", "MinuteDiffBetweenSch")
           SELECT CASE WHEN %(with_parent)s THEN "CONFLICTID" END, gen_random_uuid(), gen_random_uuid(),
                  '111-22-3333', %(visit_date)s, %(pair_status)s, 'N', 12
           FROM parent""",
        {
            "n": n,
            "visit_date": visit_date,
            "parent_status": parent_status,
            "pair_status": pair_status,
            "with_parent": with_parent,
            "now": NOW,
        },
    )


def rebuild(pg: psycopg.Connection, **kwargs: Any) -> StagingRebuild:
    pg.autocommit = False
    try:
        return rebuild_conflictlog_staging(
            pg, window_start=WINDOW_START, window_end=WINDOW_END, now=NOW, **kwargs
        )
    finally:
        pg.autocommit = True


def read_staging(pg: psycopg.Connection) -> tuple[int, int, int]:
    row = pg.execute(READ_STAGING).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Poll `condition` (each call is a database round trip) until true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")


class Hammer:
    """A second connection reading the staging table in a loop (READ COMMITTED) and recording all it sees."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.conn = connect(dsn, schema, autocommit=True)
        self.seen: list[tuple[int, int, int]] = []
        self.stop = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            observation = read_staging(self.conn)
            with self.changed:
                self.seen.append(observation)
                self.changed.notify_all()

    def wait_for_reads(self, more: int) -> None:
        """Block until the loop has completed `more` further reads."""
        with self.changed:
            target = len(self.seen) + more
            assert self.changed.wait_for(lambda: len(self.seen) >= target, timeout=20)

    def __enter__(self) -> Hammer:
        self.thread.start()
        self.wait_for_reads(1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=20)
        self.conn.close()


@pytest.mark.parametrize("strategy", ["swap", "in_place"])
def test_concurrent_reader_never_sees_empty_or_partial_staging(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str, strategy: str
) -> None:
    """D17: during the rebuild a READ COMMITTED reader sees the old complete content with
    InProgressFlag 0, then (even when it queried while the swap held its lock) the new complete content
    with InProgressFlag 1 -- never an empty or partial table, never the new content with the old flag.
    `in_place` is the fallback when a view depends on the table."""
    seed_conflicts(pg, 40)
    rebuild(pg, set_in_progress=False)
    old = read_staging(pg)
    seed_conflicts(pg, 60)
    if strategy == "in_place":
        pg.execute("CREATE VIEW staging_reader AS SELECT * FROM conflictlog_staging")
    assert old[:2] == (0, 40)
    probe = connect(pg_server_dsn, schema, autocommit=True)
    watcher = connect(pg_server_dsn, schema, autocommit=True)
    blocked_result: list[tuple[int, int, int]] = []
    blocked = threading.Thread(target=lambda: blocked_result.append(read_staging(probe)), daemon=True)

    def probe_waits_on_lock() -> bool:
        row = watcher.execute(
            "SELECT cardinality(pg_blocking_pids(%s)) > 0", (probe.info.backend_pid,)
        ).fetchone()
        return bool(row and row[0])

    try:
        with Hammer(pg_server_dsn, schema) as hammer:

            def on_phase(phase: str) -> None:
                if phase == "built":
                    # The new content is complete but uncommitted: readers still get the old one.
                    hammer.wait_for_reads(2)
                    assert read_staging(watcher) == old
                elif phase == "swapped":
                    # The swap holds its lock: a reader arriving now waits, then sees the new content.
                    blocked.start()
                    wait_until(probe_waits_on_lock, "the probe to wait on the swap's lock")

            result = rebuild(pg, on_phase=on_phase)
            blocked.join(timeout=20)
            hammer.wait_for_reads(1)
    finally:
        probe.close()
        watcher.close()
    new = read_staging(pg)
    assert result.strategy == strategy and result.rows == 100
    assert new[:2] == (1, 100)
    assert blocked_result == [new]
    assert set(hammer.seen) <= {old, new}, f"a reader saw {set(hammer.seen) - {old, new}}"
    assert old in hammer.seen and new in hammer.seen


def staging_rows(pg: psycopg.Connection) -> dict[int, dict[str, Any]]:
    cur = pg.execute("SELECT * FROM conflictlog_staging")
    names = [d.name for d in cur.description or []]
    return {int(r[0]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_staging_content_follows_parent_join_and_window(pg: psycopg.Connection) -> None:
    """D17 with the legacy staging copy: CVM rows of the window joined to their parent; "StatusFlag" is
    the parent's and "ConStatusFlag" the pair's own; rows without a parent or outside the window are
    left out; "CreatedDate" is the copy time; other columns are copied."""
    seed_conflicts(pg, 2, parent_status="W", pair_status="R")
    seed_conflicts(pg, 1, with_parent=False)
    seed_conflicts(pg, 1, visit_date=date(2023, 12, 31))
    seed_conflicts(pg, 1, visit_date=WINDOW_END)
    result = rebuild(pg)
    rows = staging_rows(pg)
    assert result.rows == len(rows) == 3
    expected = pg.execute(
        """SELECT cvm."ID", c."StatusFlag", cvm."StatusFlag", cvm."VisitID", cvm."MinuteDiffBetweenSch"
           FROM conflictvisitmaps cvm JOIN conflicts c USING ("CONFLICTID")
           WHERE cvm."VisitDate" BETWEEN %s AND %s""",
        (WINDOW_START, WINDOW_END),
    ).fetchall()
    assert {
        (i, r["StatusFlag"], r["ConStatusFlag"], r["VisitID"], r["MinuteDiffBetweenSch"])
        for i, r in rows.items()
    } == set(expected)
    assert {(r["StatusFlag"], r["ConStatusFlag"]) for r in rows.values()} == {("W", "R"), ("N", "U")}
    assert {r["CreatedDate"] for r in rows.values()} == {NOW}


def surroundings(pg: psycopg.Connection, schema: str, role: str) -> dict[str, Any]:
    """What a swap must carry over, read from the catalog."""
    names = ("indexes", "grant", "comment", "options", "columns")
    row = pg.execute(
        """SELECT (SELECT array_agg(indexdef ORDER BY indexname) FROM pg_indexes
                   WHERE schemaname = %(schema)s AND tablename = 'conflictlog_staging'),
                  has_table_privilege(%(role)s, 'conflictlog_staging', 'SELECT'),
                  obj_description('conflictlog_staging'::regclass, 'pg_class'),
                  (SELECT reloptions FROM pg_class WHERE oid = 'conflictlog_staging'::regclass),
                  (SELECT array_agg(ARRAY[a.attname, format_type(a.atttypid, a.atttypmod),
                                          pg_get_expr(d.adbin, d.adrelid),
                                          col_description(a.attrelid, a.attnum)]
                                    ORDER BY a.attnum)
                   FROM pg_attribute a
                   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                   WHERE a.attrelid = 'conflictlog_staging'::regclass
                     AND a.attnum > 0 AND NOT a.attisdropped)""",
        {"schema": schema, "role": role},
    ).fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def test_swap_keeps_indexes_grants_comments_and_options(pg: psycopg.Connection, schema: str) -> None:
    """D17: the swapped-in table is a new table with the old one's columns (types, defaults, comments),
    indexes (same names), grants, table comment and storage options; no scratch table is left."""
    role = f"vc_reader_{uuid.uuid4().hex[:8]}"
    pg.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
    try:
        pg.execute('CREATE INDEX staging_visitdate ON conflictlog_staging ("VisitDate")')
        pg.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(role))
        )
        pg.execute(sql.SQL("GRANT SELECT ON conflictlog_staging TO {}").format(sql.Identifier(role)))
        pg.execute("COMMENT ON TABLE conflictlog_staging IS 'read by the UI'")
        pg.execute("ALTER TABLE conflictlog_staging SET (fillfactor = 90)")
        before = surroundings(pg, schema, role)
        assert (
            before["grant"]
            and before["comment"] == "read by the UI"
            and before["options"] == ["fillfactor=90"]
        )
        assert ["ConStatusFlag", "character varying(5)", "'U'::character varying", None] in before["columns"]
        assert any(c[0] == "Contract" and c[3] for c in before["columns"])  # migration 0001's comment
        old_oid = pg.execute("SELECT 'conflictlog_staging'::regclass::oid").fetchone()
        seed_conflicts(pg, 3)
        assert rebuild(pg).strategy == "swap"
        assert pg.execute("SELECT 'conflictlog_staging'::regclass::oid").fetchone() != old_oid
        assert surroundings(pg, schema, role) == before
        assert pg.execute(
            "SELECT to_regclass('conflictlog_staging_new'), to_regclass('conflictlog_staging_old')"
        ).fetchone() == (None, None)
    finally:
        pg.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        pg.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_failed_rebuild_leaves_old_content_and_flag(pg: psycopg.Connection) -> None:
    """D17: a rebuild that fails after building the new content changes nothing: the old content, the
    flag and no leftover table."""
    seed_conflicts(pg, 4)
    rebuild(pg, set_in_progress=False)
    seed_conflicts(pg, 4)
    before = read_staging(pg)

    def explode(phase: str) -> None:
        if phase == "swapped":
            raise RuntimeError("killed during the swap")

    with pytest.raises(RuntimeError, match="killed"):
        rebuild(pg, on_phase=explode)
    assert read_staging(pg) == before == (0, 4, before[2])
    assert pg.execute("SELECT to_regclass('conflictlog_staging_new')").fetchone() == (None,)


def test_staging_column_without_source_is_refused(pg: psycopg.Connection) -> None:
    """D17 / B.2: a staging column with no CVM counterpart stops the rebuild with a message naming it,
    before anything changes."""
    seed_conflicts(pg, 2)
    rebuild(pg, set_in_progress=False)
    pg.execute('ALTER TABLE conflictlog_staging ADD COLUMN "Mystery" text')
    with pytest.raises(StagingError, match="Mystery"):
        rebuild(pg)
    assert read_staging(pg)[:2] == (0, 2)


def test_long_reader_delays_then_fails_the_swap_without_changes(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str
) -> None:
    """D17: the swap waits for the lock only briefly per attempt; when a transaction keeps reading the
    old table past all attempts the rebuild fails cleanly, and succeeds once the reader is gone."""
    seed_conflicts(pg, 3)
    rebuild(pg, set_in_progress=False)
    seed_conflicts(pg, 2)
    with connect(pg_server_dsn, schema) as reader:
        reader.execute("SELECT count(*) FROM conflictlog_staging").fetchone()  # holds ACCESS SHARE
        with pytest.raises(StagingError, match=r"could not lock conflictlog_staging .* 3 attempts"):
            rebuild(pg, lock_timeout_ms=20, lock_attempts=3)
        assert read_staging(pg)[:2] == (0, 3)
        reader.rollback()
    result = rebuild(pg, lock_timeout_ms=20, lock_attempts=3)
    assert (result.rows, result.lock_attempts) == (5, 1)
    assert read_staging(pg)[:2] == (1, 5)


# -- the step: payer syncs + rebuild + flag ---------------------------------------------------------


@pytest.fixture
def src(source_dir: Path) -> Iterator[SourceRows]:
    conn = connect_source(source_dir)
    try:
        yield SourceRows(conn)
    finally:
        conn.close()


def run_step(res: Resources) -> StepResult:
    ctx = RunContext(
        run_id="run-staging",
        now=datetime(2024, 5, 12, 16, 0, tzinfo=UTC),
        run_date=date(2024, 5, 12),
        window_start=WINDOW_START,
        window_end=WINDOW_END,
        cutoff=datetime(2024, 5, 10, 12, 0, tzinfo=UTC),
        watermark=None,
        business_timezone="America/New_York",
    )
    return staging_step.run(res, ctx, Params())


@pytest.fixture
def res(pg_server_dsn: str, schema: str, source_dir: Path) -> Resources:
    return Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)


def payer(src: SourceRows, name: str, *, payer_id: str | None = None, active: bool = True) -> str:
    payer_id = payer_id or src.new_id()
    src.add(
        "DIMPAYER",
        **{
            "Payer Id": payer_id,
            "Payer Name": name,
            "Payer State": "NY",
            "Is Active": active,
            "Is Demo": False,
        },
    )
    return payer_id


def link(
    src: SourceRows, payer_id: str, provider_id: str, app_payer: str = "77", app_provider: str = "88"
) -> None:
    src.add(
        "DIMPAYERPROVIDER",
        **{
            "Payer Id": payer_id,
            "Application Payer Id": app_payer,
            "Provider Id": provider_id,
            "Application Provider Id": app_provider,
        },
    )


def source_execute(src: SourceRows, statement: str, *params: Any) -> None:
    cur = src.conn.cursor()
    try:
        cur.execute(statement, params)
    finally:
        cur.close()


def ppr(pg: psycopg.Connection) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = pg.execute(
        """SELECT "PayerID"::text, "ProviderID"::text, "AppPayerID", "Contract", "AppProviderID",
                  "ProviderName", "NumberOfDays", xmin::text
           FROM payer_provider_reminders"""
    ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_step_syncs_ppr_idempotently_and_sets_flag_after_swap(
    pg: psycopg.Connection, src: SourceRows, res: Resources
) -> None:
    """D17 / B.1: new pairs inserted, a rerun writes nothing (same row versions), a renamed provider or
    payer updates only the names (user-set NumberOfDays kept), no duplicates; InProgressFlag = 1 after
    the step, with the staging table rebuilt."""
    p1, p2 = src.provider(name="Alpha Care"), src.provider(name="Beta Care")
    a, b = payer(src, "Medicaid A"), payer(src, "Plan B")
    link(src, a, p1)
    link(src, a, p2)
    link(src, b, p1)
    src.flush()
    seed_conflicts(pg, 3)
    first = run_step(res)
    assert (first.counts["ppr_inserted"], first.counts["ppr_updated"]) == (3, 0)
    assert first.counts["staging_rows"] == 3 and first.counts["in_progress_flag_rows"] == 1
    assert read_staging(pg)[:2] == (1, 3)
    rows = ppr(pg)
    assert rows[(a, p1)][:5] == (77, "Medicaid A", 88, "Alpha Care", None)
    pg.execute("""UPDATE payer_provider_reminders SET "NumberOfDays" = 5 WHERE "PayerID" = %s""", (a,))
    rows = ppr(pg)
    pg.execute('UPDATE settings SET "InProgressFlag" = 0')

    second = run_step(res)
    assert (second.counts["ppr_inserted"], second.counts["ppr_updated"], second.counts["ppr_unchanged"]) == (
        0,
        0,
        3,
    )
    assert ppr(pg) == rows

    source_execute(
        src, """UPDATE DIMPROVIDER SET "Provider Name" = 'Alpha Home Care' WHERE "Provider Id" = %s""", p1
    )
    third = run_step(res)
    assert (third.counts["ppr_inserted"], third.counts["ppr_updated"]) == (0, 2)
    after = ppr(pg)
    assert len(after) == 3
    assert after[(a, p1)][:5] == (77, "Medicaid A", 88, "Alpha Home Care", 5)
    assert after[(a, p2)] == rows[(a, p2)]
    assert pg.execute("SELECT count(*) FROM payer_provider_reminders").fetchone() == (3,)


def test_ppr_bad_ids_are_skipped_and_counted(pg: psycopg.Connection, src: SourceRows, res: Resources) -> None:
    """D23: rows whose payer or provider id is not a uuid are skipped and counted per reason; the run
    goes on and the good rows are written; duplicate source rows of one pair give one row (D8)."""
    good_provider = src.provider()
    bad_provider = src.provider(provider_id="None")
    good, bad = payer(src, "Good Payer"), payer(src, "Bad Payer", payer_id="not-a-uuid")
    link(src, good, good_provider)
    link(src, good, good_provider, app_payer="78")
    link(src, bad, good_provider)
    link(src, good, bad_provider)
    src.flush()
    counts = run_step(res).counts
    assert counts["ppr_source_rows"] == 4
    assert (counts["ppr_invalid_payer_id"], counts["ppr_invalid_provider_id"]) == (1, 1)
    assert (counts["ppr_duplicate_keys"], counts["ppr_inserted"]) == (1, 1)
    assert set(ppr(pg)) == {(good, good_provider)}
    assert ppr(pg)[(good, good_provider)][0] == 77
    assert counts["payers_invalid_payer_id"] == 1


def test_payers_table_follows_dimpayer(pg: psycopg.Connection, src: SourceRows, res: Resources) -> None:
    """D17 (migration 0003): `payers` copies DIMPAYER's active/demo flags, updating only what changed."""
    active, inactive = payer(src, "On"), payer(src, "Off", active=False)
    link(src, active, src.provider(), app_payer="41")
    src.flush()
    counts = run_step(res).counts
    assert (counts["payers_inserted"], counts["payers_updated"]) == (2, 0)
    stored = {
        r[0]: r[1:]
        for r in pg.execute(
            'SELECT "PayerID"::text, "AppPayerID", "PayerName", "IsActive", "IsDemo" FROM payers'
        )
    }
    assert stored == {active: (41, "On", True, False), inactive: (None, "Off", False, False)}
    source_execute(src, """UPDATE DIMPAYER SET "Is Active" = TRUE WHERE "Payer Id" = %s""", inactive)
    counts = run_step(res).counts
    assert (counts["payers_inserted"], counts["payers_updated"], counts["payers_unchanged"]) == (0, 1, 1)
