"""The payer view maintained for the changed conflicts only (issue 13, migration 0034): after mixed runs
(pipeline writes, users' changes, pairs moving between conflicts and groups, payers changing), the
incrementally maintained view equals migration 0003's definition computed over the whole table, and
the production pg_cron job's plain REFRESH between runs still picks up users' changes."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg

from visit_conflicts.paths import PG_MIGRATIONS_DIR
from visit_conflicts.store.payer_view import maintain_payer_view

VIEW = "mv_payer_conflicts_common"
NOW = datetime(2026, 11, 27, 9, 0)
FLAGS = (
    "SameSchTimeFlag",
    "SameVisitTimeFlag",
    "SchAndVisitTimeSameFlag",
    "SchOverAnotherSchTimeFlag",
    "VisitTimeOverAnotherVisitTimeFlag",
    "SchTimeOverVisitTimeFlag",
    "DistanceFlag",
    "InServiceFlag",
)


def create_reference_view(pg: psycopg.Connection) -> None:
    """Migration 0003's definition of the payer view, as a plain view over the whole table."""
    text = (PG_MIGRATIONS_DIR / "0003_payer_conflicts_mv.sql").read_text()
    head = "CREATE MATERIALIZED VIEW mv_payer_conflicts_common AS\n"
    body = text[text.index(head) + len(head) : text.index("WITH DATA;")]
    pg.execute(("CREATE VIEW reference_payer_view AS\n" + body).encode())


def content(pg: psycopg.Connection, relation: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in pg.execute(f'SELECT * FROM {relation} ORDER BY "ID"'.encode()).fetchall()]


class Activity:
    """Pipeline and user writes on the conflict tables (seeded)."""

    def __init__(self, pg: psycopg.Connection, seed: int) -> None:
        self.pg = pg
        self.rng = random.Random(seed)
        self.payers = [uuid.UUID(int=self.rng.getrandbits(128)) for _ in range(4)]
        for i, payer in enumerate(self.payers):
            pg.execute(
                """INSERT INTO payers ("PayerID", "AppPayerID", "PayerName", "IsActive", "IsDemo")
                   VALUES (%s, %s, 'P', %s, %s)""",
                (payer, i, i != 3, i == 2),
            )

    def ids(self, query: str, k: int) -> list[Any]:
        found = [r[0] for r in self.pg.execute(query.encode()).fetchall()]
        return self.rng.sample(found, min(k, len(found)))

    def new_conflicts(self, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            parent = self.pg.execute(
                """INSERT INTO conflicts ("StatusFlag", "NoResponseFlag") VALUES (%s, %s)
                   RETURNING "CONFLICTID" """,
                (rng.choice("NUR"), rng.choice([None, "Yes"])),
            ).fetchone()
            assert parent is not None
            visits = [rng.randint(1, 10**6) for _ in range(rng.randint(2, 3))]
            for a in visits:
                for b in visits:
                    if a == b or rng.random() < 0.3:
                        continue
                    flags = {f: rng.choice("NNY") for f in FLAGS}
                    start = NOW + timedelta(minutes=15 * rng.randint(0, 40))
                    self.pg.execute(
                        f"""INSERT INTO conflictvisitmaps ("CONFLICTID", "VisitID", "ConVisitID",
                               "AppVisitID", "ConAppVisitID", "PayerID", "GroupID", "PTOFlag", "StatusFlag",
                               "ShVTSTTime", "ShVTENTime", "CShVTSTTime", "CShVTENTime", "BilledRateMinute",
                               "Billed",
                               {", ".join(f'"{f}"' for f in FLAGS)})
                           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                                   {", ".join(["%s"] * len(FLAGS))})""".encode(),
                        (
                            parent[0],
                            uuid.UUID(int=rng.getrandbits(128)),
                            uuid.UUID(int=rng.getrandbits(128)),
                            a,
                            b,
                            rng.choice(self.payers),
                            rng.choice([None] * 12 + [1, 2, 3]),
                            rng.choice("NNY"),
                            rng.choice("NUR"),
                            start,
                            start + timedelta(hours=4),
                            start + timedelta(hours=1),
                            start + timedelta(hours=3),
                            rng.choice([0.0, 0.5, 1.25]),
                            rng.choice(["yes", "no"]),
                            *flags.values(),
                        ),
                    )

    def day(self) -> None:
        """One run's writes and the users' changes after it."""
        pairs = 'SELECT "ID" FROM conflictvisitmaps ORDER BY 1'
        conflicts = 'SELECT "CONFLICTID" FROM conflicts ORDER BY 1'
        self.new_conflicts(3)
        for i in self.ids(pairs, 4):  # detect: a changed pair
            self.pg.execute(
                """UPDATE conflictvisitmaps SET "DistanceFlag" = 'Y', "BilledRateMinute" = 2
                   WHERE "ID" = %s""",
                (i,),
            )
        for i in self.ids(pairs, 3):  # finalize, status, users
            self.pg.execute(
                'UPDATE conflictvisitmaps SET "StatusFlag" = %s WHERE "ID" = %s',
                (self.rng.choice("RWIDU"), i),
            )
        for i in self.ids(conflicts, 3):
            self.pg.execute(
                'UPDATE conflicts SET "StatusFlag" = %s, "NoResponseFlag" = %s WHERE "CONFLICTID" = %s',
                (self.rng.choice("NURW"), self.rng.choice([None, "Yes"]), i),
            )
        for i in self.ids(pairs, 2):  # a pair moves to another group, another to another conflict
            self.pg.execute(
                'UPDATE conflictvisitmaps SET "GroupID" = %s WHERE "ID" = %s',
                (self.rng.choice([None, 1, 2, 4]), i),
            )
        moved, target = self.ids(pairs, 1), self.ids(conflicts, 1)
        if moved and target:
            self.pg.execute(
                'UPDATE conflictvisitmaps SET "CONFLICTID" = %s WHERE "ID" = %s', (target[0], moved[0])
            )
        for i in self.ids(pairs, 1):
            self.pg.execute('DELETE FROM conflictvisitmaps WHERE "ID" = %s', (i,))


def test_incremental_payer_view_equals_a_full_computation_after_mixed_runs(pg: psycopg.Connection) -> None:
    """Issue 13 / migration 0034: run after run, the maintenance computes only the changed conflicts,
    and the view (and its table) equal migration 0003's definition over the whole table, every column;
    a change to `payers` makes the next maintenance a full rebuild, with the same result."""
    create_reference_view(pg)
    activity = Activity(pg, seed=41)
    activity.new_conflicts(60)
    first = maintain_payer_view(pg, view=VIEW, mode="delta", now=NOW)
    assert content(pg, VIEW) == content(pg, "reference_payer_view") and first.rows_written > 0
    for day in range(5):
        activity.day()
        total = pg.execute("SELECT count(*) FROM conflicts").fetchone()
        done = maintain_payer_view(pg, view=VIEW, mode="delta", now=NOW + timedelta(days=day))
        assert total is not None and done.mode == "delta" and 0 < done.conflicts < total[0], done
        reference = content(pg, "reference_payer_view")
        assert content(pg, VIEW) == reference, f"the view differs after run {day}"
        assert content(pg, "payer_conflicts_common") == reference
    pg.execute("""UPDATE payers SET "IsActive" = NOT "IsActive" WHERE "AppPayerID" = 1""")
    rebuilt = maintain_payer_view(pg, view=VIEW, mode="delta", now=NOW)
    assert rebuilt.mode == "rebuild"
    assert content(pg, VIEW) == content(pg, "reference_payer_view")
    again = maintain_payer_view(pg, view=VIEW, mode="rebuild", now=NOW)
    assert (again.mode, again.rows_written) == ("rebuild", len(content(pg, VIEW)))


def test_the_cron_jobs_refresh_between_runs_follows_users_changes(pg: psycopg.Connection) -> None:
    """D18 with migration 0034: the production pg_cron job refreshes the view by name between runs;
    the conflicts users changed since the last maintenance are computed live, so the refreshed view
    equals the full definition without any maintenance."""
    create_reference_view(pg)
    activity = Activity(pg, seed=7)
    activity.new_conflicts(20)
    maintain_payer_view(pg, view=VIEW, mode="delta", now=NOW)
    activity.day()
    pg.execute(f"REFRESH MATERIALIZED VIEW {VIEW}".encode())
    assert content(pg, VIEW) == content(pg, "reference_payer_view")
    pending = pg.execute("SELECT count(*) FROM payer_view_pending_conflicts").fetchone()
    assert pending is not None and pending[0] > 0
    pg.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {VIEW}".encode())
    assert content(pg, VIEW) == content(pg, "reference_payer_view")
