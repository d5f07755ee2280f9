"""The fault matrix on a real PostgreSQL (D2, D12, D19, D20): each fault ends in a clear failure with
cleanup done where the process can still act; the next run succeeds with no manual step; and then
`conflictvisitmaps` and `conflicts` equal those of a fault-free run (content digests that ignore only ids
and the pipeline's clock stamps, `bench/table_content.py`).

Each run is a process of its own (`tests.support.faults` injects the fault and calls the command line),
so a SIGKILL kills a real runner mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.table_content import table_content
from devkit.emulation import release_emulation
from devkit.generate import generate
from tests.support.schemas import migrated_schema
from visit_conflicts.pipeline import SHAPE
from visit_conflicts.store import ledger
from visit_conflicts.store.db import connect

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
SCALE = 0.0005
RETRY_ATTEMPTS = 3
# Small batches so that a chunk writes several of them (a fault can strike between two).
RUN_OPTIONS = ["--chunks", "2", "--workers", "2", "--batch-size", "20", "--no-progress"]
RUN_OPTIONS += ["--params", json.dumps({"retry_wait_seconds": 0, "retry_attempts": RETRY_ATTEMPTS})]

# Every boundary while the run holds the lock: before each work step and before the first closing step
# (restore closes the run; a kill after it leaves nothing to take over, see below).
KILLED_AT_BOUNDARY = [f"kill@{s.name}" for s in (*SHAPE.work, SHAPE.closing[0])]


@dataclass
class Scenario:
    dsn: str
    schema: str
    source_dir: Path
    report_dir: Path

    def run(self, fault: str | None = None) -> subprocess.CompletedProcess[str]:
        args = ["run", "--source-dir", str(self.source_dir), "--pg-dsn", self.dsn, "--schema", self.schema]
        args += ["--now", NOW.isoformat(), "--report-dir", str(self.report_dir), *RUN_OPTIONS]
        command = (
            [sys.executable, "-m", "tests.support.faults", fault, "--", *args]
            if fault
            else [
                sys.executable,
                "-m",
                "visit_conflicts",
                *args,
            ]
        )
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=600)

    def content(self) -> dict[str, Any]:
        with psycopg.connect(self.dsn) as conn:
            found = table_content(conn, self.schema)
        return {t: (found[t]["rows"], found[t]["sha256"]) for t in ("conflictvisitmaps", "conflicts")}

    def latest(self) -> dict[str, Any]:
        with connect(self.dsn, self.schema, autocommit=True) as conn:
            run = ledger.get_run(conn)
            assert run is not None
            run["steps"] = ledger.get_steps(conn, run["run_id"])
            run["in_progress_flag"] = conn.execute('SELECT "InProgressFlag" FROM settings').fetchone()
            run["active"] = ledger.active_run(conn)
            run["seen_pairs"] = conn.execute(
                "SELECT count(*) FROM run_seen_pair WHERE run_id = %s", (run["run_id"],)
            ).fetchone()
        return run


@pytest.fixture
def scenario(pg_server_dsn: str, tmp_path: Path) -> Iterator[Scenario]:
    """A fresh schema and source directory holding the same generated data every time."""
    release_emulation()
    with migrated_schema(pg_server_dsn) as schema:
        with connect(pg_server_dsn, schema) as conn:
            generate(tmp_path / "source", conn, scale=SCALE, seed=17, anchor=NOW)
            conn.commit()
        release_emulation()  # the runs are other processes: this one lets go of the emulation
        yield Scenario(pg_server_dsn, schema, tmp_path / "source", tmp_path / "reports")


@pytest.fixture(scope="module")
def reference(pg_server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The content after one fault-free run of the same data."""
    tmp = tmp_path_factory.mktemp("reference")
    release_emulation()
    with migrated_schema(pg_server_dsn) as schema:
        with connect(pg_server_dsn, schema) as conn:
            generate(tmp / "source", conn, scale=SCALE, seed=17, anchor=NOW)
            conn.commit()
        release_emulation()
        clean = Scenario(pg_server_dsn, schema, tmp / "source", tmp / "reports")
        done = clean.run()
        assert done.returncode == 0, done.stderr
        content = clean.content()
    assert content["conflictvisitmaps"][0] > 50, "the data must give the faults something to break"
    return content


def _assert_cleaned_up(run: dict[str, Any]) -> None:
    """D19: the run is closed, nothing holds the lock, InProgressFlag is back to idle."""
    assert run["status"] in ("failed", "cancelled"), run["status"]
    assert run["active"] is None and run["in_progress_flag"] == (0,)


@pytest.mark.parametrize("fault", [*KILLED_AT_BOUNDARY, "kill-in-batch@detect"])
def test_killed_runner_is_taken_over_and_the_rerun_converges(
    scenario: Scenario, reference: dict[str, Any], fault: str
) -> None:
    """SIGKILL at a step boundary or between two batches of a detect chunk: the process cannot clean up;
    the next run takes the dead run over (D20 amended) and ends with the fault-free content."""
    killed = scenario.run(fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    dead = scenario.latest()
    assert dead["status"] == "running" and dead["active"] is not None
    if fault == "kill-in-batch@detect":
        assert dead["seen_pairs"][0] > 0, "the kill must strike after a batch was written"

    rerun = scenario.run()
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    assert f"took over run {dead['run_id']}" in rerun.stdout
    after = scenario.latest()
    assert after["status"] == "succeeded" and after["took_over"]["run_id"] == dead["run_id"]
    assert after["in_progress_flag"] == (0,)
    assert scenario.content() == reference


def test_killed_after_restore_leaves_nothing_to_take_over(
    scenario: Scenario, reference: dict[str, Any]
) -> None:
    """SIGKILL between the closing steps (after restore closed the run, before its report): the lock is
    already free and pg_cron/InProgressFlag restored, so the next run simply runs and converges."""
    killed = scenario.run(f"kill@{SHAPE.closing[1].name}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    closed = scenario.latest()
    assert closed["status"] == "succeeded" and closed["active"] is None and closed["in_progress_flag"] == (0,)
    rerun = scenario.run()
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    assert "took over" not in rerun.stdout
    assert scenario.content() == reference


@pytest.mark.parametrize("step", ["detect", "status_a"])
def test_sigterm_cancels_cleans_up_and_the_rerun_converges(
    scenario: Scenario, reference: dict[str, Any], step: str
) -> None:
    """D19, locally: SIGTERM cancels the run, cleanup still runs (exit 1, status 'cancelled'); the next
    run needs nothing from an operator."""
    cancelled = scenario.run(f"term@{step}")
    assert cancelled.returncode == 1, cancelled.stderr
    run = scenario.latest()
    _assert_cleaned_up(run)
    assert run["status"] == "cancelled" and "SIGTERM" in (run["error"] or "")
    assert scenario.run().returncode == 0
    assert scenario.content() == reference


def test_connection_dropped_once_mid_batch_is_retried(scenario: Scenario, reference: dict[str, Any]) -> None:
    """A PostgreSQL session ended in the middle of a batch is a transient failure: the chunk's
    transaction rolls back and the chunk is retried (attempt 2), and the run succeeds with the
    fault-free content."""
    done = scenario.run("drop-connection-once@detect")
    assert done.returncode == 0, done.stderr
    attempts = {s.chunk: s.attempt for s in scenario.latest()["steps"] if s.step == "detect"}
    assert sorted(attempts.values()) == [1, 2]
    assert scenario.content() == reference


def test_connection_dropped_on_every_attempt_fails_cleanly(
    scenario: Scenario, reference: dict[str, Any]
) -> None:
    """When every attempt loses its connection the retries run out: a clear failure naming the error,
    cleanup done; the next run converges."""
    failed = scenario.run("drop-connection@detect")
    assert failed.returncode == 1
    run = scenario.latest()
    _assert_cleaned_up(run)
    assert "terminat" in (run["error"] or "") or "connection" in (run["error"] or "").lower()
    assert max(s.attempt for s in run["steps"] if s.step == "detect") == RETRY_ATTEMPTS
    assert scenario.run().returncode == 0
    assert scenario.content() == reference


def test_failing_snowflake_query_is_not_retried(scenario: Scenario, reference: dict[str, Any]) -> None:
    """A Snowflake query that fails (a programming error: permanent) fails the run at once with the
    connector's message, cleanup done; the next run converges."""
    failed = scenario.run("source-fails@detect")
    assert failed.returncode == 1
    run = scenario.latest()
    _assert_cleaned_up(run)
    assert "FACTVISITCALLPERFORMANCE_CR" in (run["error"] or "")
    assert {s.attempt for s in run["steps"] if s.step == "detect"} == {1}
    assert scenario.run().returncode == 0
    assert scenario.content() == reference


def test_fault_runner_is_the_real_command_line() -> None:
    """The fault runner adds faults only: without one it is `visit-conflicts` itself."""
    help_text = subprocess.run(
        [sys.executable, "-m", "visit_conflicts", "run", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    ).stdout
    assert "--source-dir" in help_text
