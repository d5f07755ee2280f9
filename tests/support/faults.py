"""Runs the command line with one fault injected, in a process of its own (the fault matrix).

    python -m tests.support.faults FAULT -- <visit-conflicts arguments>

FAULT is `<kind>@<step>`:
- `kill@X`: SIGKILL of the runner just before step X starts (a step boundary: nothing of X ran);
- `kill-in-batch@detect`: SIGKILL inside a detect chunk, after a detect batch was committed and before
  the next one is written (whichever chunk's thread writes it);
- `term@X`: SIGTERM just before step X (the local D19 path: cancel, cleanup, exit 1);
- `drop-connection-once@detect`: the PostgreSQL session of a detect chunk is terminated in the middle of
  its first batch (a transient failure the runner retries);
- `drop-connection@detect`: the same on every attempt (the retries run out: a clear failure);
- `source-fails@detect`: the Snowflake pair query fails (a permanent error: no retry).

The faults are real (a signal to this process, a session ended by the server, an exception from the
connector's error type); only where they strike is arranged.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import psycopg

from visit_conflicts import cli, local_runner, step_runner
from visit_conflicts.source import detect as detect_source
from visit_conflicts.store.detect import PairWriter


def _before_step(step: str, action: Any) -> None:
    original = step_runner.run_step

    def run_step(res: Any, ctx: Any, params: Any, step_name: str, **kwargs: Any) -> Any:
        if step_name == step:
            action()
        return original(res, ctx, params, step_name, **kwargs)

    # The local runner runs work steps through its own reference; close_run through step_runner's.
    local_runner.run_step = run_step
    step_runner.run_step = run_step


def _on_batch(action: Any, *, calls: set[int]) -> None:
    original = PairWriter.write_prepared
    seen = [0]

    def write_prepared(self: PairWriter, prepared: Any, *, now: Any) -> Any:
        seen[0] += 1
        if seen[0] in calls:
            action(self)
        return original(self, prepared, now=now)

    PairWriter.write_prepared = write_prepared  # type: ignore[method-assign]


def _kill_after_a_committed_batch() -> None:
    """SIGKILL at the first detect batch that starts after some detect batch was committed. Counted over
    the writers, not per call: chunks run on parallel threads, so "the second call" may be another
    chunk's first batch while the first one is still uncommitted."""
    original = PairWriter.write_prepared
    committed = threading.Event()

    def write_prepared(self: PairWriter, prepared: Any, *, now: Any) -> Any:
        regular = self.kind.name == "regular"
        if regular and committed.is_set():
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, prepared, now=now)
        if regular and prepared.rows_read > 0:
            committed.set()
        return result

    PairWriter.write_prepared = write_prepared  # type: ignore[method-assign]


def _terminate_session(writer: PairWriter) -> None:
    """End the writer's PostgreSQL session from another connection, as a server restart or a network cut
    would: the writer's next statement fails with a connection error."""
    with psycopg.connect(writer.conn.info.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (writer.conn.info.backend_pid,))


def install(fault: str) -> None:
    kind, _, where = fault.partition("@")
    if kind == "kill":
        _before_step(where, lambda: os.kill(os.getpid(), signal.SIGKILL))
    elif kind == "term":
        _before_step(where, lambda: os.kill(os.getpid(), signal.SIGTERM))
    elif kind == "kill-in-batch":
        _kill_after_a_committed_batch()
    elif kind == "drop-connection-once":
        _on_batch(_terminate_session, calls={1})
    elif kind == "drop-connection":
        _on_batch(_terminate_session, calls=set(range(1, 1000)))
    elif kind == "source-fails":
        from snowflake.connector.errors import ProgrammingError

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ProgrammingError(
                msg="SQL compilation error: Object 'FACTVISITCALLPERFORMANCE_CR' does not exist"
            )

        detect_source.iter_pair_tables = fail
        import visit_conflicts.steps.detect as detect_step

        detect_step.iter_pair_tables = fail
    else:
        raise SystemExit(f"unknown fault {fault!r}")


def main(argv: list[str]) -> int:
    fault, separator, rest = argv[0], argv[1], argv[2:]
    assert separator == "--", "usage: python -m tests.support.faults FAULT -- ARGS"
    install(fault)
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
