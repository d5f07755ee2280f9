"""D20 amended: a run whose owner is provably gone is taken over by the next run, which first performs the
dead run's cleanup (pg_cron, InProgressFlag, ledger status 'abandoned') and says so in its report; a live
run is never taken over; two runs racing to take over never both open; `unlock` stays for operators."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from tests.support.runs import NOW, job_active, run
from visit_conflicts import cli
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.ownership import (
    RunOwner,
    aws_owner,
    gone_reason,
    holding_run_lock,
    local_owner,
    process_start,
    run_lock_key,
)
from visit_conflicts.pipeline import SHAPE
from visit_conflicts.step_api import Resources
from visit_conflicts.step_runner import run_step
from visit_conflicts.store import ledger
from visit_conflicts.store.pg_cron import cron_job as find_cron_job
from visit_conflicts.store.pg_cron import disable_cron_job


def _dead_owner(schema: str, run_id: str) -> RunOwner:
    """The owner record of a process that has exited (its pid and start time no longer match)."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    token = process_start(proc.pid)
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait()
    return RunOwner(
        kind="local",
        host=socket.gethostname(),
        pid=proc.pid,
        process_start=token,
        lock_key=run_lock_key(schema, run_id),
    )


def _open_run(pg: psycopg.Connection, run_id: str, owner: RunOwner | None, params: Params) -> None:
    """A run as its process left it: opened, pg_cron disabled, InProgressFlag set (after staging)."""
    ctx = RunContext.create(params, now=NOW, run_id=run_id)
    ledger.start_run(pg, ctx, params, steps=["staging", "plan"], full_run=True)
    ledger.record_owner(pg, run_id, owner.to_json() if owner else None, None)
    ledger.record_cron_state(pg, run_id, disable_cron_job(pg, params.pg_cron_job_name))
    pg.execute('UPDATE settings SET "InProgressFlag" = 1')


@pytest.mark.pgcron
def test_run_of_a_dead_process_is_taken_over_and_cleaned_up(
    res: Resources, pg: psycopg.Connection, cron_job: str, schema: str, tmp_path: Path
) -> None:
    """The next run restores the dead run's pg_cron state and InProgressFlag with the dead run's own
    parameters (its cron job), marks it 'abandoned', then runs normally and reports the takeover."""
    dead_params = Params(pg_cron_job_name=cron_job, chunks=1)
    _open_run(pg, "dead-run", _dead_owner(schema, "dead-run"), dead_params)
    assert not job_active(pg, cron_job)

    outcome = run(res, Params(pg_cron_job_name=cron_job, chunks=1), tmp_path)

    assert outcome.ok, outcome.text
    assert outcome.report["took_over"]["run_id"] == "dead-run"
    assert "no longer exists" in outcome.report["took_over"]["reason"]
    assert "took over run dead-run" in outcome.text
    dead = ledger.get_run(pg, "dead-run")
    assert dead is not None and dead["status"] == "abandoned" and outcome.run_id in dead["error"]
    assert dead["report"]["status"] == "abandoned"
    assert job_active(pg, cron_job)  # restored by the takeover, disabled and restored again by this run
    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (0,)
    assert ledger.active_run(pg) is None


def test_run_whose_process_holds_its_lock_is_never_taken_over(
    res: Resources, pg: psycopg.Connection, pg_server_dsn: str, schema: str, tmp_path: Path
) -> None:
    """A live run (its process, on another host, holds the run lock) refuses the next run, which touches
    nothing: the lock alone proves it alive."""
    elsewhere = RunOwner(
        kind="local", host="another-host", pid=1, process_start="1", lock_key=run_lock_key(schema, "live-run")
    )
    with holding_run_lock(pg_server_dsn, schema, "live-run"):
        _open_run(pg, "live-run", elsewhere, Params(chunks=1))
        assert gone_reason(pg, elsewhere) is None
        outcome = run(res, Params(chunks=1), tmp_path)
    assert outcome.status == "failed" and outcome.report["took_over"] is None
    assert "live-run" in (outcome.error or "") and "refused" in (outcome.error or "")
    live = ledger.get_run(pg, "live-run")
    assert live is not None and live["status"] == "running"
    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (1,)


def test_live_process_without_its_session_is_not_taken_over(
    res: Resources, pg: psycopg.Connection, schema: str, tmp_path: Path
) -> None:
    """The lock free is not enough on the owner's own host: a process with the recorded pid and start
    time still exists (here: this test process), so the run is alive and is not taken over."""
    _open_run(pg, "alive-run", local_owner(schema, "alive-run"), Params(chunks=1))
    assert gone_reason(pg, local_owner(schema, "alive-run")) is None
    outcome = run(res, Params(chunks=1), tmp_path)
    assert outcome.status == "failed" and "alive-run" in (outcome.error or "")
    assert ledger.get_run(pg, "alive-run")["status"] == "running"  # type: ignore[index]


@pytest.mark.pgcron
def test_two_runs_racing_to_take_over_never_both_open(
    res: Resources, pg: psycopg.Connection, cron_job: str, schema: str
) -> None:
    """Two preflights find the same dead run at once: deciding and opening are serialised, so one takes
    over and opens, the other is refused by it; the winner's disabled pg_cron job is not re-enabled by
    the loser restoring the dead run's state."""
    params = Params(pg_cron_job_name=cron_job, chunks=1)
    _open_run(pg, "dead-run", _dead_owner(schema, "dead-run"), params)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def preflight(run_id: str) -> None:
        mine = Resources(pg_dsn=res.pg_dsn, schema=res.schema, source_dir=res.source_dir)
        ctx = RunContext.create(params, now=NOW, run_id=run_id)
        barrier.wait()
        try:
            results[run_id] = run_step(mine, ctx, params, SHAPE.opening.name)
        except ledger.RunLockedError as exc:
            results[run_id] = exc

    threads = [threading.Thread(target=preflight, args=(name,)) for name in ("racer-a", "racer-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    opened = [name for name, r in results.items() if not isinstance(r, Exception)]
    refused = [name for name, r in results.items() if isinstance(r, ledger.RunLockedError)]
    assert len(opened) == 1 and len(refused) == 1, results
    assert results[opened[0]].counts["took_over"] == "dead-run"
    assert opened[0] in str(results[refused[0]])
    assert ledger.get_run(pg, "dead-run")["status"] == "abandoned"  # type: ignore[index]
    assert ledger.active_run(pg)["run_id"] == opened[0]  # type: ignore[index]
    assert not job_active(pg, cron_job)  # disabled by the winner's preflight, and it stays so


def test_deciding_a_takeover_and_opening_the_run_hold_the_ledger_lock(
    res: Resources, pg: psycopg.Connection, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs never both take over: preflight decides the takeover and opens its run while holding the
    schema's ledger lock, which no other session can take meanwhile."""
    from visit_conflicts.ownership import ledger_lock_key
    from visit_conflicts.steps import preflight

    seen: list[bool] = []
    original = preflight.take_over_dead_run

    def spy(*args: Any, **kwargs: Any) -> Any:
        with psycopg.connect(res.pg_dsn, autocommit=True) as other:
            row = other.execute("SELECT pg_try_advisory_lock(%s)", (ledger_lock_key(schema),)).fetchone()
            seen.append(bool(row and row[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(preflight, "take_over_dead_run", spy)
    params = Params(chunks=1)
    run_step(res, RunContext.create(params, now=NOW, run_id="locked-open"), params, SHAPE.opening.name)
    assert seen == [False]


def test_aws_execution_that_ended_is_gone_and_a_running_one_is_not(pg: psycopg.Connection) -> None:
    """In AWS the owner is the Step Functions execution: gone once it is no longer RUNNING."""
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="visit-conflicts",
            definition='{"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": true}}}',
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, name="run-1")["executionArn"]
        assert gone_reason(pg, aws_owner(execution)) is None
        sfn.stop_execution(executionArn=execution)
        reason = gone_reason(pg, aws_owner(execution))
    assert reason is not None and "ABORTED" in reason


@pytest.mark.pgcron
def test_unlock_refuses_a_live_run_and_releases_a_dead_one_with_its_cleanup(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str, cron_job: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator's `unlock`: refused (exit 2, one line) while the owner looks alive; with --force the
    run's cleanup is performed (pg_cron restored, InProgressFlag idle) and it is marked 'abandoned'."""
    _open_run(pg, "stuck", local_owner(schema, "stuck"), Params(pg_cron_job_name=cron_job, chunks=1))
    args = ["unlock", "stuck", "--pg-dsn", pg_server_dsn, "--schema", schema]
    assert cli.main(args) == 2
    assert "is alive" in capsys.readouterr().err
    assert ledger.get_run(pg, "stuck")["status"] == "running"  # type: ignore[index]
    assert cli.main([*args, "--force"]) == 0
    assert ledger.get_run(pg, "stuck")["status"] == "abandoned"  # type: ignore[index]
    job = find_cron_job(pg, cron_job)
    assert job is not None and job["active"]
    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (0,)
