"""conflictlog_staging at O(delta) (D17 amended, issue 13): applying the logged changes and rebuilding
give the same table after mixed runs, and a delta refresh is atomic for readers with InProgressFlag = 1
in its commit."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.support.schemas import migrated_schema
from visit_conflicts.store.db import connect
from visit_conflicts.store.staging import StagingMode, StagingRebuild, refresh_conflictlog_staging

FIRST_DAY = date(2024, 5, 12)
SPAN = 30  # the window: [run date - SPAN, run date + 10]


@pytest.fixture
def twin(pg_server_dsn: str) -> Iterator[str]:
    """A second migrated schema on the same server."""
    with migrated_schema(pg_server_dsn) as name:
        yield name


def refresh(pg: psycopg.Connection, mode: StagingMode, day: date, **kwargs: Any) -> StagingRebuild:
    pg.autocommit = False
    try:
        return refresh_conflictlog_staging(
            pg,
            mode=mode,
            window_start=day - timedelta(days=SPAN),
            window_end=day + timedelta(days=10),
            now=datetime.combine(day, datetime.min.time()) + timedelta(hours=6),
            **kwargs,
        )
    finally:
        pg.autocommit = True


class Changes:
    """A run's writes and users' changes between two refreshes, the same in every schema (seeded)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def keys(self, pg: psycopg.Connection, query: str, k: int) -> list[Any]:
        found = [r[0] for r in pg.execute(query.encode()).fetchall()]
        return self.rng.sample(found, min(k, len(found)))

    def apply(self, pg: psycopg.Connection, day: date) -> None:
        rng = self.rng
        # New conflicts with pairs around the window's edges (some without a parent, some far ahead).
        for _ in range(rng.randint(3, 8)):
            parent = pg.execute(
                """INSERT INTO conflicts ("StatusFlag", "CreatedDate") VALUES ('N', %s)
                   RETURNING "CONFLICTID" """,
                (datetime.combine(day, datetime.min.time()),),
            ).fetchone()
            assert parent is not None
            for _ in range(rng.randint(1, 3)):
                visit_date = day + timedelta(days=rng.randint(-SPAN - 3, 14))
                pg.execute(
                    """INSERT INTO conflictvisitmaps ("CONFLICTID", "VisitID", "ConVisitID", "SSN",
                           "VisitDate", "StatusFlag", "InServiceFlag", "ProviderName")
                       VALUES (%s, %s, %s, %s, %s, 'N', 'N', 'P')""",
                    (
                        None if rng.random() < 0.1 else parent[0],
                        uuid.UUID(int=rng.getrandbits(128)),
                        uuid.UUID(int=rng.getrandbits(128)),
                        f"{rng.randint(0, 99):09d}",
                        visit_date,
                    ),
                )
        order = 'SELECT "ID" FROM conflictvisitmaps ORDER BY "ID"'
        conflicts = 'SELECT "CONFLICTID" FROM conflicts ORDER BY "CONFLICTID"'
        # The pipeline's writes: changed pairs, resolved pairs, statuses of parents.
        for i in self.keys(pg, order, 4):
            pg.execute('UPDATE conflictvisitmaps SET "ProviderName" = %s WHERE "ID" = %s', (f"P{day}", i))
        for i in self.keys(pg, order, 3):
            pg.execute("""UPDATE conflictvisitmaps SET "StatusFlag" = 'R' WHERE "ID" = %s""", (i,))
        for i in self.keys(pg, conflicts, 3):
            pg.execute("""UPDATE conflicts SET "StatusFlag" = 'U' WHERE "CONFLICTID" = %s""", (i,))
        # Users: whitelists, review flags on parents and pairs, a pair moved to another conflict.
        for i in self.keys(pg, order, 2):
            pg.execute("""UPDATE conflictvisitmaps SET "StatusFlag" = 'W' WHERE "ID" = %s""", (i,))
        for i in self.keys(pg, conflicts, 2):
            pg.execute(
                """UPDATE conflicts SET "FlagForReview" = 'Y', "FlagForReviewDate" = %s
                   WHERE "CONFLICTID" = %s""",
                (datetime.combine(day, datetime.min.time()), i),
            )
        moved, target = self.keys(pg, order, 1), self.keys(pg, conflicts, 1)
        if moved and target:
            pg.execute(
                'UPDATE conflictvisitmaps SET "CONFLICTID" = %s WHERE "ID" = %s', (target[0], moved[0])
            )
        # A parent that arrives late for pairs stored without one, and a pair that goes away.
        orphans = self.keys(pg, 'SELECT "ID" FROM conflictvisitmaps WHERE "CONFLICTID" IS NULL ORDER BY 1', 1)
        if orphans:
            parent = pg.execute(
                """INSERT INTO conflicts ("StatusFlag") VALUES ('N') RETURNING "CONFLICTID" """
            ).fetchone()
            assert parent is not None
            pg.execute(
                'UPDATE conflictvisitmaps SET "CONFLICTID" = %s WHERE "ID" = %s', (parent[0], orphans[0])
            )
        for i in self.keys(pg, order, 1):
            pg.execute('DELETE FROM conflictvisitmaps WHERE "ID" = %s', (i,))


def staging(pg: psycopg.Connection) -> list[tuple[Any, ...]]:
    """Every column of every staging row (CreatedDate included), in ID order."""
    return [tuple(r) for r in pg.execute('SELECT * FROM conflictlog_staging ORDER BY "ID"').fetchall()]


def test_delta_and_rebuild_give_the_same_staging_table_after_mixed_runs(
    pg_server_dsn: str, schema: str, twin: str
) -> None:
    """D17 amended: day after day of pipeline writes and user changes (new pairs with and without a
    parent, changed pairs, statuses, review flags, a pair moved between conflicts, a late parent, a
    deleted pair) and a window that moves, one schema refreshed by applying the changes and the other
    by rebuilding: the same staging table, every column (CreatedDate too), after every run; the delta
    schema applied changes (not a rebuild) from the second run on, and its content is what a rebuild
    from scratch gives."""
    delta, rebuild = (
        connect(pg_server_dsn, schema, autocommit=True),
        connect(pg_server_dsn, twin, autocommit=True),
    )
    try:
        changes = {"delta": Changes(seed=17), "rebuild": Changes(seed=17)}
        for n in range(6):
            day = FIRST_DAY + timedelta(days=n)
            changes["delta"].apply(delta, day)
            changes["rebuild"].apply(rebuild, day)
            applied = refresh(delta, "delta", day)
            rebuilt = refresh(rebuild, "rebuild", day)
            assert applied.strategy == ("delta" if n else "swap"), applied
            assert rebuilt.strategy == "swap"
            assert staging(delta) == staging(rebuild), f"staging differs after run {n}"
            assert rebuilt.rows == len(staging(rebuild)) > 0
        # The delta content is also what a rebuild from scratch gives (the log-trusting rebuild keeps
        # unchanged rows' CreatedDate; a rebuild that trusts nothing stamps every row with its time).
        delta.execute("UPDATE change_log_reader SET rebuild = true WHERE reader = 'staging'")
        before = {r[0]: r for r in staging(delta)}
        refresh(delta, "delta", day)
        after = staging(delta)
        created = [i for i, name in enumerate(_columns(delta)) if name == "CreatedDate"]
        strip = lambda row: tuple(v for i, v in enumerate(row) if i not in created)  # noqa: E731
        assert [strip(r) for r in after] == [strip(r) for r in before.values()]
    finally:
        delta.close()
        rebuild.close()


def _columns(pg: psycopg.Connection) -> list[str]:
    cur = pg.execute("SELECT * FROM conflictlog_staging LIMIT 0")
    return [d.name for d in cur.description or []]


def test_delta_refresh_is_atomic_and_sets_the_flag_in_its_commit(pg_server_dsn: str, schema: str) -> None:
    """D17: while a delta refresh has written its rows but not committed, another session still reads the
    old content with InProgressFlag 0; after the commit it reads the new content and the flag 1 together;
    only the staging rows of changed pairs were rewritten."""
    pg = connect(pg_server_dsn, schema, autocommit=True)
    reader = connect(pg_server_dsn, schema, autocommit=True)
    try:
        Changes(seed=3).apply(pg, FIRST_DAY)
        refresh(pg, "delta", FIRST_DAY)
        pg.execute('UPDATE settings SET "InProgressFlag" = 0')
        untouched = pg.execute(
            'SELECT "ID", xmin::text FROM conflictlog_staging ORDER BY "ID" LIMIT 1'
        ).fetchone()
        assert untouched is not None
        changed = pg.execute(
            """UPDATE conflictvisitmaps SET "ProviderName" = 'Changed' WHERE "ID" = (
                   SELECT max("ID") FROM conflictlog_staging) RETURNING "ID" """
        ).fetchone()
        assert changed is not None
        old = reader.execute('SELECT "ID", "ProviderName" FROM conflictlog_staging ORDER BY 1').fetchall()
        seen: dict[str, Any] = {}

        def look(phase: str) -> None:
            if phase == "built":
                seen["rows"] = reader.execute(
                    'SELECT "ID", "ProviderName" FROM conflictlog_staging ORDER BY 1'
                ).fetchall()
                seen["flag"] = reader.execute('SELECT "InProgressFlag" FROM settings').fetchone()

        result = refresh(pg, "delta", FIRST_DAY + timedelta(days=1), on_phase=look)
        assert result.strategy == "delta" and result.in_progress_rows == 1
        assert seen == {"rows": old, "flag": (0,)}
        new: dict[int, str] = dict(
            reader.execute('SELECT "ID", "ProviderName" FROM conflictlog_staging').fetchall()
        )
        assert new[changed[0]] == "Changed"
        assert reader.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (1,)
        assert reader.execute(
            'SELECT "ID", xmin::text FROM conflictlog_staging WHERE "ID" = %s', (untouched[0],)
        ).fetchone() == tuple(untouched)
    finally:
        pg.close()
        reader.close()
