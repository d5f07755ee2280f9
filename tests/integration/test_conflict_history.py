"""Conflict history and dry runs (issue 14 items 1 and 3), on generated data through the local runner:
the events a real run writes (per reason, in the writing transaction, none for unchanged pairs), their
retention purge, and `run --dry-run` (reports what would change, writes nothing, moves no watermark)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from devkit.emulation import release_emulation
from devkit.generate import generate, mutate
from visit_conflicts import local_runner
from visit_conflicts.config import Params
from visit_conflicts.step_api import Resources
from visit_conflicts.store import detect as detect_store
from visit_conflicts.store.maintenance import purge_events

NY = ZoneInfo("America/New_York")
ANCHOR = datetime(2025, 6, 15, 6, 30, tzinfo=NY)
NEXT = ANCHOR + timedelta(days=1)
SCALE = 0.0005


@pytest.fixture
def generated(source_dir: Path, pg: psycopg.Connection, pg_server_dsn: str, schema: str) -> Resources:
    release_emulation()
    generate(source_dir, pg, scale=SCALE, seed=7, anchor=ANCHOR)
    return Resources(pg_dsn=pg_server_dsn, schema=schema, source_dir=source_dir)


def _run(res: Resources, tmp_path: Path, now: datetime, **params: Any) -> local_runner.RunOutcome:
    return local_runner.run_pipeline(res, Params.model_validate(params), now=now, report_dir=tmp_path / "r")


def _events(pg: psycopg.Connection, run_id: str) -> dict[tuple[str, str], int]:
    rows = pg.execute(
        "SELECT step, reason, count(*) FROM conflict_event WHERE run_id = %s GROUP BY 1, 2", (run_id,)
    ).fetchall()
    return {(r[0], r[1]): int(r[2]) for r in rows}


def test_a_run_records_every_change_once_and_unchanged_pairs_nothing(
    generated: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    first = _run(generated, tmp_path, ANCHOR)
    assert first.ok, first.text
    pairs = pg.execute("SELECT count(*) FROM conflictvisitmaps").fetchone()
    parents = pg.execute("SELECT count(*) FROM conflicts").fetchone()
    assert pairs and parents and pairs[0] > 0
    inserted = pg.execute(
        "SELECT count(*), count(DISTINCT \"ID\") FROM conflict_event WHERE run_id = %s AND reason = 'insert'"
        ' AND "VisitID" IS NOT NULL',
        (first.run_id,),
    ).fetchone()
    assert inserted == (pairs[0], pairs[0])  # every pair inserted once, with its CVM id
    new_parents = pg.execute(
        "SELECT count(*) FROM conflict_event WHERE run_id = %s AND reason = 'insert' AND \"VisitID\" IS NULL",
        (first.run_id,),
    ).fetchone()
    assert new_parents == (parents[0],)
    # Inserts name the rule flags that hold; InService inserts say so.
    details = {r[0] for r in pg.execute("SELECT DISTINCT detail FROM conflict_event WHERE reason = 'insert'")}
    assert "conflict" in details and any(d and "Flag" in d for d in details)
    # Every event matches the stored status it led to (old NULL only for inserts), at the run's clock.
    assert pg.execute(
        "SELECT count(*) FROM conflict_event WHERE (old_status IS NULL) <> (reason = 'insert') OR at <> %s",
        (
            first.report
            and datetime.fromisoformat(first.report["started_at"]).astimezone(NY).replace(tzinfo=None),
        ),
    ).fetchone() == (0,)
    assert first.report["events"]["insert"] == inserted[0] + new_parents[0]
    assert "events per reason: " in first.text and f"insert={inserted[0] + new_parents[0]}" in first.text

    # The same source again: nothing re-detected is written, so the writers record nothing but the
    # reopening of pairs the status units resolved (re-detected 'R' pairs reopen, D11).
    again = _run(generated, tmp_path, ANCHOR + timedelta(hours=1))
    assert again.ok, again.text
    writers = {
        k: v for k, v in _events(pg, again.run_id).items() if k[0] in ("detect", "inservice", "finalize")
    }
    assert set(writers) <= {("detect", "reopened"), ("inservice", "reopened")}
    reopened = sum(s["counts"].get("reopened", 0) for s in again.report["steps"])
    assert sum(writers.values()) == reopened

    # The next night's changes: moves, missed visits, deletions, re-saves.
    mutate(generated.source_dir, seed=3, anchor=NEXT, fraction=0.05)  # type: ignore[arg-type]
    third = _run(generated, tmp_path, NEXT)
    assert third.ok, third.text
    events = _events(pg, third.run_id)
    reasons = {reason for _, reason in events}
    assert "insert" in reasons and reasons & {"ismissed_cascade_cvm", "ismissed_cascade_cf"}, events
    assert {step for step, _ in events} <= {
        "detect",
        "inservice",
        "finalize",
        "status_b",
        "status_a",
        "status_c",
    }
    # Every status event is a real change; every pair event's new status is the stored one or was
    # changed again later in the run.
    assert pg.execute(
        "SELECT count(*) FROM conflict_event WHERE run_id = %s AND reason <> 'insert'"
        " AND reason NOT IN ('changed') AND old_status IS NOT DISTINCT FROM new_status",
        (third.run_id,),
    ).fetchone() == (0,)
    last = pg.execute(
        """SELECT count(*) FROM (
               SELECT DISTINCT ON ("ID") "ID", new_status FROM conflict_event
               WHERE run_id = %s AND "ID" IS NOT NULL ORDER BY "ID", event_id DESC) e
           JOIN conflictvisitmaps c USING ("ID")
           WHERE c."StatusFlag" IS DISTINCT FROM e.new_status""",
        (third.run_id,),
    ).fetchone()
    assert last == (0,)
    report = third.report
    assert report["events"] == dict(sorted(_per_reason(events).items()))
    newest = report["history"]["runs"][-1]
    assert (
        newest["kind"] == "run" and {e["reason"]: e["events"] for e in newest["events"]} == report["events"]
    )


def _per_reason(events: dict[tuple[str, str], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (_, reason), n in events.items():
        out[reason] = out.get(reason, 0) + n
    return out


def test_a_failing_batch_rolls_its_events_back(
    generated: Resources, pg: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = detect_store.PairWriter._insert_new

    def insert_then_fail(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        raise RuntimeError("the batch fails after its inserts and their events")

    monkeypatch.setattr(detect_store.PairWriter, "_insert_new", insert_then_fail)
    failed = _run(generated, tmp_path, ANCHOR, steps=["plan", "detect"], chunks=1)
    assert not failed.ok
    assert pg.execute("SELECT count(*) FROM conflictvisitmaps").fetchone() == (0,)
    assert _events(pg, failed.run_id) == {}


def test_retention_purges_old_events(generated: Resources, pg: psycopg.Connection, tmp_path: Path) -> None:
    now = ANCHOR.replace(tzinfo=None)
    for days in (401, 399):
        pg.execute(
            "INSERT INTO conflict_event (run_id, step, reason, at) VALUES ('old', 'detect', 'insert', %s)",
            (now - timedelta(days=days),),
        )
    assert purge_events(pg, now=now, retention_days=400) == 1
    assert purge_events(pg, now=now, retention_days=400) == 0
    outcome = _run(generated, tmp_path, ANCHOR, event_retention_days=1)
    assert outcome.ok, outcome.text
    maintenance = next(s for s in outcome.report["steps"] if s["step"] == "maintenance")
    assert maintenance["counts"]["events_purged"] == 1  # the 399-day-old one
    assert pg.execute("SELECT count(*) FROM conflict_event WHERE run_id = 'old'").fetchone() == (0,)


_SNAPSHOT_TABLES = (
    "conflictvisitmaps",
    "conflicts",
    "conflictlog_staging",
    "settings",
    "payers",
    "payer_provider_reminders",
    "conflict_event",
)


def _snapshot(pg: psycopg.Connection) -> dict[str, str]:
    """md5 of every table's rows as text, in a fixed order, and of pg_cron's jobs."""
    found = {}
    for table in _SNAPSHOT_TABLES:
        row = pg.execute(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        ).fetchone()
        assert row is not None
        found[table] = row[0]
    cron = pg.execute(
        "SELECT md5(coalesce(string_agg(j::text, '|' ORDER BY j.jobid), '')) FROM cron.job j"
    ).fetchone()
    assert cron is not None
    found["cron.job"] = cron[0]
    return found


def test_dry_run_reports_what_would_change_and_writes_nothing(
    generated: Resources, pg: psycopg.Connection, tmp_path: Path, cron_job: str
) -> None:
    first = _run(generated, tmp_path, ANCHOR)
    assert first.ok, first.text
    mutate(generated.source_dir, seed=3, anchor=NEXT, fraction=0.05)  # type: ignore[arg-type]
    before = _snapshot(pg)
    dry = _run(generated, tmp_path, NEXT, dry_run=True)
    assert dry.ok, dry.text
    assert _snapshot(pg) == before
    report = dry.report
    assert report["dry_run"] and sum(report["events"].values()) > 0
    samples = report["would_change"]["samples"]
    assert samples["inserted"] and 0 < len(samples["inserted"]) <= 10
    assert samples["resolved"] or samples["cascaded"]
    assert "DRY RUN" in dry.text and "sample of inserted" in dry.text
    step_counts = {s["step"]: s["counts"] for s in report["steps"]}
    assert sum(v for k, v in step_counts["detect"].items() if k == "inserted") > 0
    assert report["history"]["runs"][-1]["kind"] == "dry run"
    row = pg.execute("SELECT dry_run, status FROM pipeline_run WHERE run_id = %s", (dry.run_id,)).fetchone()
    assert row == (True, "succeeded")
    # The next real run still starts from the first run's watermark and makes the changes.
    real = _run(generated, tmp_path, NEXT + timedelta(minutes=5))
    assert real.ok, real.text
    assert real.report["watermark"] == first.report["started_at"]
    assert real.report["events"] == report["events"]
