"""The fingerprint path and the full compare give identical tables (D10, D11, D12): the fingerprint only
ever skips pairs the full compare would leave as they are.

Two schemas receive the same sequence of pairs and the same changes by users and by other steps; one
writes with `merge_compare = "fingerprint"`, the other with `"full"`. Their content is compared with
bench/table_content.py's digests (every column but identity values and clock stamps) and, where the
clock is the same, column by column including "UpdatedDate" and "PairFingerprint".
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.table_content import digest_dsn
from devkit.emulation import release_emulation
from devkit.generate import generate, mutate
from tests.support.schemas import migrated_schema
from visit_conflicts.columns import FLAG_COLUMNS
from visit_conflicts.config import Params
from visit_conflicts.local_runner import run_pipeline
from visit_conflicts.step_api import Resources
from visit_conflicts.store.db import connect
from visit_conflicts.store.detect import MergeCompare, MergeCounts, PairWriter

COLUMNS = (
    "VisitID",
    "ConVisitID",
    "SSN",
    "VisitDate",
    "AgencyContact",
    "SchStartTime",
    "DistanceMilesFromLatLng",
    "ETATravelMinutes",
    "LastUpdatedDate",
    "LastUpdatedBy",
    *FLAG_COLUMNS,
)


@pytest.fixture
def twin(pg_server_dsn: str) -> Iterator[str]:
    """A second migrated schema on the same server."""
    with migrated_schema(pg_server_dsn) as name:
        yield name


class PairSource:
    """A pool of pairs whose values drift from day to day, as re-detection sees them (seeded)."""

    def __init__(self, seed: int, size: int) -> None:
        self.rng = random.Random(seed)
        visits = [str(uuid.UUID(int=self.rng.getrandbits(128))) for _ in range(size // 2)]
        keys = {(self.rng.choice(visits), self.rng.choice(visits)) for _ in range(size)}
        self.state = {k: self._values() for k in sorted(keys) if k[0] != k[1]}

    def _values(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "SSN": f"{rng.randint(0, 40):09d}",
            "VisitDate": date(2026, 11, 1) + timedelta(days=rng.randint(0, 20)),
            # The source sends NULL (pair_columns.sql); a value takes the full compare (D11 KEEP_WHEN_NULL).
            "AgencyContact": rng.choice([None] * 6 + ["Desk", "Jane"]),
            "SchStartTime": datetime(2026, 11, 1, 8) + timedelta(minutes=15 * rng.randint(0, 40)),
            "DistanceMilesFromLatLng": rng.choice([None, 0.5, 1.1, 12.75]),
            "ETATravelMinutes": rng.choice([None, 30.5, 30.49, 12]),
            "LastUpdatedDate": datetime(2026, 11, 1) + timedelta(hours=rng.randint(0, 500)),
            "LastUpdatedBy": rng.choice(["a", "b"]),
            **{f: rng.choice("YNN") for f in FLAG_COLUMNS},
        }

    def day(self) -> list[tuple[Any, ...]]:
        """Today's re-detected pairs (most of them, in a random order), a few with drifted values."""
        rng = self.rng
        out = []
        for key, values in self.state.items():
            roll = rng.random()
            if roll < 0.05:
                values.update(rng.sample(sorted(self._values().items()), rng.randint(1, 3)))
            elif roll < 0.08:
                values["LastUpdatedDate"] += timedelta(hours=1)  # a touched visit (D11 amended)
            elif roll < 0.1:
                flag = rng.choice(FLAG_COLUMNS)
                values[flag] = "N" if values[flag] == "Y" else "Y"
            if rng.random() < 0.85:
                out.append((*key, *(values[c] for c in COLUMNS[2:])))
        rng.shuffle(out)
        return out


def others_change(pg: psycopg.Connection, rng: random.Random) -> None:
    """What users and the other steps do between runs: statuses (W, I by users; D, R by status and
    finalize), AgencyContact filled by users, and pairs whose fingerprint is unknown (stored before
    migration 0030)."""
    # By key, not by "ID": identity values may be handed out in another order in the other schema.
    keys = pg.execute(
        'SELECT "VisitID", "ConVisitID" FROM conflictvisitmaps ORDER BY "VisitID", "ConVisitID"'
    ).fetchall()
    where = ' WHERE "VisitID" = %s AND "ConVisitID" = %s'
    for status in ("W", "I", "D", "R", "R", "N"):
        for key in rng.sample(keys, min(3, len(keys))):
            pg.execute('UPDATE conflictvisitmaps SET "StatusFlag" = %s' + where, (status, *key))
    for key in rng.sample(keys, min(4, len(keys))):
        pg.execute("""UPDATE conflictvisitmaps SET "AgencyContact" = 'User'""" + where, key)
    for key in rng.sample(keys, min(6, len(keys))):
        pg.execute('UPDATE conflictvisitmaps SET "PairFingerprint" = NULL' + where, key)
    pg.commit()


def table_rows(pg: psycopg.Connection) -> list[tuple[Any, ...]]:
    rows = pg.execute('SELECT * FROM conflictvisitmaps ORDER BY "VisitID", "ConVisitID"').fetchall()
    # Every parent column but RECORDEDDATETIME (a column DEFAULT of the server clock).
    parents = pg.execute(
        """SELECT to_jsonb(c) - 'RECORDEDDATETIME' FROM conflicts c ORDER BY c."CONFLICTID" """
    ).fetchall()
    pg.commit()
    return [*rows, *parents]


def test_fingerprint_and_full_compare_write_identical_tables(
    pg_server_dsn: str, schema: str, twin: str
) -> None:
    """D10/D11: day after day of re-detected pairs (new, unchanged, changed, metadata-only, flags lost
    and gained, user-filled contacts, every status, fingerprints unknown), written by the fingerprint
    path into one schema and by the full compare into the other: the tables are identical, column for
    column (the same clock), after every day; and the fingerprint path did skip pairs."""
    conns = {mode: connect(pg_server_dsn, name) for mode, name in (("fingerprint", schema), ("full", twin))}
    try:
        source = PairSource(seed=1327, size=400)
        writers = {
            mode: PairWriter(conn, COLUMNS, run_id="r", chunk=0, compare=mode)  # type: ignore[arg-type]
            for mode, conn in conns.items()
        }
        totals = {mode: MergeCounts() for mode in conns}
        for day in range(6):
            now = datetime(2026, 11, 20, 9) + timedelta(days=day)
            rows = source.day()
            cut = sorted(random.Random(day).sample(range(1, len(rows)), 3))
            batches = [rows[a:b] for a, b in zip([0, *cut], [*cut, len(rows)], strict=True)]
            for mode, w in writers.items():
                for batch in batches:
                    totals[mode].add(w.write_batch(batch, now=now))
            for conn in conns.values():
                others_change(conn, random.Random(day))
            same = table_rows(conns["fingerprint"]) == table_rows(conns["full"])
            assert same, f"tables differ on day {day}"
        assert totals["fingerprint"].fingerprint_matched > totals["fingerprint"].unchanged // 2
        assert totals["full"].fingerprint_matched == 0
        assert totals["fingerprint"].as_dict() | {"fingerprint_matched": 0, "fingerprints_recorded": 0} == (
            totals["full"].as_dict() | {"fingerprint_matched": 0, "fingerprints_recorded": 0}
        )
        assert (
            digest_dsn(pg_server_dsn, schema)["conflictvisitmaps"]["sha256"]
            == (digest_dsn(pg_server_dsn, twin)["conflictvisitmaps"]["sha256"])
        )
    finally:
        for conn in conns.values():
            conn.close()


def _pipeline(res: Resources, mode: MergeCompare, now: datetime, tmp_path: Path) -> None:
    params = Params(chunks=2, merge_compare=mode)
    outcome = run_pipeline(res, params, now=now, report_dir=tmp_path / "reports")
    assert outcome.ok, outcome.text


def test_pipeline_runs_through_both_paths_give_identical_tables(
    pg_server_dsn: str, schema: str, twin: str, tmp_path: Path
) -> None:
    """The whole pipeline on generated data with its planted cases, a first run and two incremental runs
    after a day of source changes each (and user statuses in between): the fingerprint path and the
    full compare leave the same conflictvisitmaps and conflicts (content digests of
    bench/table_content.py, which leave out identity values and clock stamps)."""
    anchor = datetime.fromisoformat("2026-11-27T06:00:00-05:00")
    resources = {}
    for mode, name in (("fingerprint", schema), ("full", twin)):
        source_dir = tmp_path / mode
        source_dir.mkdir()
        release_emulation()
        with connect(pg_server_dsn, name) as conn:
            generate(source_dir, conn, scale=0.0002, seed=5, anchor=anchor)
            conn.commit()
        release_emulation()
        resources[mode] = Resources(pg_dsn=pg_server_dsn, schema=name, source_dir=source_dir)
    try:
        for day in range(3):
            now = anchor + timedelta(days=day)
            for mode, res in resources.items():
                if day:
                    assert res.source_dir is not None
                    mutate(res.source_dir, seed=11 + day, anchor=now)
                    with connect(pg_server_dsn, res.schema) as conn:
                        others_change(conn, random.Random(day))
                release_emulation()
                _pipeline(res, mode, now, tmp_path)  # type: ignore[arg-type]
                release_emulation()
            digests = {mode: digest_dsn(pg_server_dsn, res.schema) for mode, res in resources.items()}
            for table in ("conflictvisitmaps", "conflicts"):
                assert digests["fingerprint"][table]["rows"] > 0
                assert digests["fingerprint"][table]["sha256"] == digests["full"][table]["sha256"], (
                    f"{table} differs after run {day}"
                )
    finally:
        release_emulation()
