"""D17-D20: the closing steps always run (after a failure in any step too): restore puts pg_cron and
InProgressFlag back, closes the ledger run (freeing the lock) and purges scratch rows; a step of a
closed run writes nothing; the local runner drives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.runs import NOW, job_active, run
from visit_conflicts import local_runner
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.pipeline import SHAPE, Step
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.step_runner import close_run, run_step
from visit_conflicts.store import ledger
from visit_conflicts.store.db import connect
from visit_conflicts.store.restore import limit_waits, purge_scratch


@pytest.mark.pgcron
def test_active_cron_job_is_disabled_during_run_and_restored(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D18: preflight records the job's state and disables it; restore puts back exactly that state."""
    seen: list[bool] = []
    original = local_runner.run_step

    def spy(*args: Any, **kwargs: Any) -> Any:
        if args[3] not in (SHAPE.opening.name, *(s.name for s in SHAPE.closing)):
            seen.append(job_active(pg, cron_job))
        return original(*args, **kwargs)

    monkeypatch.setattr(local_runner, "run_step", spy)
    outcome = run(res, Params(pg_cron_job_name=cron_job, chunks=2), tmp_path)
    assert outcome.ok, outcome.text
    assert seen and not any(seen)
    assert job_active(pg, cron_job)
    assert outcome.report["pg_cron"]["status"] == "disabled"


@pytest.mark.pgcron
def test_inactive_cron_job_stays_inactive(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path
) -> None:
    """D18: a job that was inactive before the run is still inactive after it."""
    pg.execute("SELECT cron.alter_job(jobid, active := false) FROM cron.job WHERE jobname = %s", (cron_job,))
    outcome = run(res, Params(pg_cron_job_name=cron_job, chunks=1), tmp_path)
    assert outcome.ok, outcome.text
    assert not job_active(pg, cron_job)


@pytest.mark.parametrize("failing_step", [s.name for s in SHAPE.work])
def test_failure_in_any_step_still_runs_the_closing_steps(
    res: Resources, pg: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_step: str
) -> None:
    """D19: a failure injected in each step: restore and report still run, the run ends failed with the
    error in the report, InProgressFlag is back to the idle value, the lock is free."""
    from visit_conflicts.pipeline import STEP_BY_NAME

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"injected failure in {failing_step}")

    step = STEP_BY_NAME[failing_step]
    real = type(step).function
    monkeypatch.setattr(
        type(step), "function", lambda self: boom if self.name == failing_step else real(self)
    )
    pg.execute('UPDATE settings SET "InProgressFlag" = 1')
    outcome = run(res, Params(chunks=2), tmp_path)
    assert outcome.status == "failed"
    assert f"injected failure in {failing_step}" in (outcome.error or "")
    assert f"injected failure in {failing_step}" in outcome.text
    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (0,)
    assert ledger.active_run(pg) is None
    statuses = {s["step"]: s["status"] for s in outcome.report["steps"]}
    assert statuses[failing_step] == "failed" and statuses["restore"] == "succeeded"
    assert (tmp_path / "reports" / f"{outcome.run_id}.html").exists()


def test_success_sets_last_load_date_and_closes_ledger(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """D17/D20/D22: idle flag and LastLoadDate on success; ledger run closed with the JSON report."""
    outcome = run(res, Params(chunks=2), tmp_path)
    assert outcome.ok, outcome.text
    flag, last_load = pg.execute('SELECT "InProgressFlag", "LastLoadDate" FROM settings').fetchone()  # type: ignore[misc]
    assert flag == 0 and last_load is not None
    stored = ledger.get_run(pg, outcome.run_id)
    assert stored is not None and stored["status"] == "succeeded"
    assert stored["report"]["run_id"] == outcome.run_id
    names = [s["step"] for s in outcome.report["steps"]]
    assert names[0] == "preflight" and names[-1] == "restore"
    # D22 durations are wall clock even when the run's "now" is fixed (here: hours away from the clock).
    assert 0 < outcome.report["seconds"] < 300


def test_run_scratch_rows_are_purged_at_the_end(
    res: Resources, pg: psycopg.Connection, tmp_path: Path
) -> None:
    """The ledger-side scope and seen tables keep nothing once a run has ended (unlogged scratch)."""
    pg.execute(
        """INSERT INTO run_scope_group (run_id, chunk, "VisitDate", "SSN")
           VALUES ('r-scratch', 0, '2026-11-20', 'x')"""
    )
    pg.execute(
        """INSERT INTO run_seen_pair (run_id, chunk, "VisitID", "ConVisitID")
           VALUES ('r-scratch', 0, gen_random_uuid(), gen_random_uuid())"""
    )
    outcome = run(res, Params(chunks=2, steps=["detect"]), tmp_path, run_id="r-scratch")
    assert outcome.ok, outcome.text
    for table in ("run_scope_group", "run_seen_pair"):
        assert pg.execute(
            f"SELECT count(*) FROM {table} WHERE run_id = %s", (outcome.run_id,)
        ).fetchone() == (0,)


def _scope_rows(pg: psycopg.Connection, run_id: str, n: int) -> None:
    pg.execute(
        """INSERT INTO run_scope_group (run_id, chunk, "VisitDate", "SSN")
           SELECT %s, i %% 4, DATE '2026-01-01' + (i %% 300), lpad(i::text, 9, '0')
           FROM generate_series(1, %s) AS i""",
        (run_id, n),
    )


def _sizes(pg: psycopg.Connection) -> tuple[int, int]:
    row = pg.execute(
        "SELECT pg_relation_size('run_scope_group'), pg_relation_size('run_scope_group_run')"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_scratch_purge_gives_the_pages_back_when_the_run_was_alone(pg: psycopg.Connection) -> None:
    """Issue 13 (O(delta), not O(history)): a DELETE of a first load's scope left its pages and its
    index to later nights (VACUUM truncates only an empty tail and never shrinks an index); the purge
    empties a table that holds only the closed run's rows."""
    _scope_rows(pg, "loaded", 50_000)
    assert min(_sizes(pg)) > 300_000
    assert purge_scratch(pg, "loaded") == 50_000
    assert _sizes(pg) == (0, 8192)  # an empty table, and an index of its metapage only


def test_scratch_purge_keeps_another_runs_rows(pg: psycopg.Connection) -> None:
    _scope_rows(pg, "loaded", 5_000)
    _scope_rows(pg, "next", 3)
    assert purge_scratch(pg, "loaded") == 5_000
    assert pg.execute("SELECT run_id, count(*) FROM run_scope_group GROUP BY 1").fetchall() == [("next", 3)]


def test_scratch_purge_does_not_wait_for_a_session_using_the_table(
    pg: psycopg.Connection, pg_server_dsn: str, schema: str
) -> None:
    _scope_rows(pg, "loaded", 5_000)
    with connect(pg_server_dsn, schema) as reader:  # an open transaction that read the table
        reader.execute("SELECT count(*) FROM run_scope_group").fetchone()
        limit_waits(pg)
        assert purge_scratch(pg, "loaded") == 5_000
        assert pg.execute("SELECT count(*) FROM run_scope_group").fetchone() == (0,)
        reader.rollback()


def _open_run(res: Resources, params: Params, run_id: str) -> RunContext:
    """A run opened by preflight, as the state machine's first state opens it."""
    ctx = RunContext.create(params, now=NOW, run_id=run_id)
    opened = run_step(res, ctx, params, SHAPE.opening.name).context
    assert opened is not None
    return opened


def _spy_on_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call of a work step's function (the step itself never runs)."""
    called: list[str] = []
    real = Step.function

    def function(self: Step) -> Any:
        if self not in SHAPE.work:
            return real(self)

        def record(*args: Any, **kwargs: Any) -> StepResult:
            called.append(self.name)
            return StepResult()

        return record

    monkeypatch.setattr(Step, "function", function)
    return called


def test_a_step_of_a_run_closed_by_restore_is_refused_before_it_writes(
    res: Resources, pg: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D20: a redriven execution re-enters a step after restore closed its run: the step is refused
    (no lock, pg_cron possibly back on) and the error says to start a new execution with `steps`."""
    params = Params(chunks=2)
    ctx = _open_run(res, params, "redriven-run")
    closed = close_run(res, params, ctx.run_id, outcome="cancelled", error="aborted")
    assert closed.report is not None and closed.report["status"] == "cancelled"
    called = _spy_on_work(monkeypatch)

    with pytest.raises(ledger.RunNotOpenError, match=r"closed \(cancelled\).*Start a new execution"):
        run_step(res, ctx, params, "detect", chunk=1)
    with pytest.raises(ledger.RunNotOpenError, match="steps"):
        run_step(res, ctx, params, "maintenance")

    assert called == []
    steps = {(s.step, s.chunk) for s in ledger.get_steps(pg, ctx.run_id)}
    assert ("detect", 1) not in steps and ("maintenance", -1) not in steps


def test_a_step_of_a_run_that_was_never_opened_is_refused(
    res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    called = _spy_on_work(monkeypatch)
    ctx = RunContext.create(Params(), now=NOW, run_id="never-opened")
    with pytest.raises(ledger.RunNotOpenError, match="never opened"):
        run_step(res, ctx, Params(), "staging")
    assert called == []


def test_a_step_of_the_open_run_runs(res: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: while the run holds the lock its steps run (and record their attempt)."""
    params = Params(chunks=2)
    ctx = _open_run(res, params, "open-run")
    called = _spy_on_work(monkeypatch)
    run_step(res, ctx, params, "detect", chunk=0)
    assert called == ["detect"]


def test_closing_again_leaves_a_closed_run_alone(res: Resources, pg: psycopg.Connection) -> None:
    """D19: the abnormal-end cleanup may come after the state machine's own closing states: the second
    close restores nothing (the state may belong to the next run by then) and keeps the outcome."""
    params = Params(chunks=1)
    ctx = _open_run(res, params, "closed-twice")
    close_run(res, params, ctx.run_id, outcome="failed", error="a step failed")
    pg.execute('UPDATE settings SET "InProgressFlag" = 1')  # the next run started meanwhile

    again = close_run(res, params, ctx.run_id, outcome="cancelled", error="late event")

    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (1,)
    stored = ledger.get_run(pg, ctx.run_id)
    assert stored is not None and (stored["status"], stored["error"]) == ("failed", "a step failed")
    assert again.report is not None and again.report["status"] == "failed"


def test_closing_uses_the_runs_own_parameters_from_the_ledger(res: Resources, pg: psycopg.Connection) -> None:
    """The abnormal-end cleanup knows only the run id and the environment's configuration; the run's
    overrides (here the idle value of InProgressFlag) come from the ledger row, not the defaults."""
    ctx = _open_run(res, Params(chunks=1, idle_in_progress_flag=7), "override-run")
    pg.execute('UPDATE settings SET "InProgressFlag" = 1')

    close_run(res, Params(), ctx.run_id, outcome="cancelled", error="ABORTED")

    assert pg.execute('SELECT "InProgressFlag" FROM settings').fetchone() == (7,)


def test_restore_sets_a_lock_timeout_and_a_statement_timeout(res: Resources) -> None:
    """Restore never waits on a long operation: its session gives up on a lock within seconds."""
    with res.pg_conn(autocommit=True) as conn:
        limit_waits(conn)
        lock = conn.execute("SHOW lock_timeout").fetchone()
        statement = conn.execute("SHOW statement_timeout").fetchone()
    assert lock == ("10s",) and statement == ("1min",)


@pytest.mark.pgcron
def test_cron_job_is_restored_after_a_failed_run(
    res: Resources, pg: psycopg.Connection, cron_job: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D18/D19: a step fails after preflight disabled the job; cleanup still restores it to exactly the
    state preflight recorded (active)."""
    from visit_conflicts.pipeline import STEP_BY_NAME

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected failure in detect")

    step = STEP_BY_NAME["detect"]
    original = type(step).function
    monkeypatch.setattr(
        type(step), "function", lambda self: boom if self.name == "detect" else original(self)
    )
    outcome = run(res, Params(pg_cron_job_name=cron_job, chunks=1), tmp_path)
    assert outcome.status == "failed" and "injected failure in detect" in (outcome.error or "")
    assert outcome.report["pg_cron"]["status"] == "disabled"
    assert job_active(pg, cron_job)
