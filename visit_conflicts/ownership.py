"""Who owns a run, and whether that owner is provably gone (D20 amended: takeover of a dead run).

A run is owned by the process that runs it locally, or by its Step Functions execution in AWS. The owner
is recorded in the ledger when the run opens. The next run takes over a 'running' run only when its owner
is provably gone:

- **Locally**: the owner process holds a session-level advisory lock (`run_lock_key`) on a connection of
  its own for the whole run. PostgreSQL releases it when the session ends, so it dies with the process.
  The lock free is the proof, with one guard: on the same host, a process with the recorded pid and start
  time that still exists is alive whatever its connection did (never take over a live run).
- **In AWS**: the execution is no longer RUNNING (`states:DescribeExecution`).

Anything that cannot be decided (no owner recorded, the execution cannot be described) counts as alive:
an operator can still release the run with `visit-conflicts unlock`.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.db import connect


def run_lock_key(schema: str, run_id: str) -> int:
    """The advisory lock key of one run (64-bit, signed as PostgreSQL's bigint)."""
    digest = hashlib.blake2b(f"visit-conflicts run/{schema}/{run_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def ledger_lock_key(schema: str) -> int:
    """The advisory lock key that serialises opening runs in one schema (takeover included)."""
    digest = hashlib.blake2b(f"visit-conflicts ledger/{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def process_start(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), as an
    opaque token: with the pid it identifies one process even if the pid is reused. None when unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: fields start after the last ')'.
    return stat[stat.rindex(")") + 2 :].split()[19]


@dataclass(frozen=True)
class RunOwner:
    kind: Literal["local", "aws"]
    host: str | None = None
    pid: int | None = None
    process_start: str | None = None
    lock_key: int | None = None
    execution_arn: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunOwner:
        return cls(
            kind="aws" if data.get("kind") == "aws" else "local",
            host=data.get("host"),
            pid=data.get("pid"),
            process_start=data.get("process_start"),
            lock_key=data.get("lock_key"),
            execution_arn=data.get("execution_arn"),
        )

    def describe(self) -> str:
        if self.kind == "aws":
            return f"execution {self.execution_arn}"
        return f"process {self.pid} on host {self.host}"


def local_owner(schema: str, run_id: str) -> RunOwner:
    """This process, as the owner of run `run_id` (it must hold `run_lock_key` for the whole run)."""
    pid = os.getpid()
    return RunOwner(
        kind="local",
        host=socket.gethostname(),
        pid=pid,
        process_start=process_start(pid),
        lock_key=run_lock_key(schema, run_id),
    )


def aws_owner(execution_arn: str) -> RunOwner:
    return RunOwner(kind="aws", execution_arn=execution_arn)


def gone_reason(conn: psycopg.Connection, owner: RunOwner | None) -> str | None:
    """Why the owner of a 'running' run is provably gone, or None when it may be alive."""
    if owner is None:
        return None
    if owner.kind == "aws":
        return _execution_gone(owner.execution_arn)
    if owner.lock_key is None or _lock_held(conn, owner.lock_key):
        return None
    if owner.host == socket.gethostname() and owner.pid is not None:
        if process_start(owner.pid) == owner.process_start and owner.process_start is not None:
            return None  # the process is alive though its session is not: never take over a live run
        return f"process {owner.pid} on host {owner.host} no longer exists"
    return f"the PostgreSQL session of process {owner.pid} on host {owner.host} has ended"


def alive_reason(conn: psycopg.Connection, owner: RunOwner | None) -> str | None:
    """Why the owner of a run is provably alive (a local process holding the run lock, or still running
    on this host), or None. An operator's `unlock` refuses such a run unless forced."""
    if owner is None or owner.kind != "local":
        return None
    if owner.lock_key is not None and _lock_held(conn, owner.lock_key):
        return f"its process {owner.pid} on host {owner.host} holds the run lock"
    if (
        owner.host == socket.gethostname()
        and owner.pid is not None
        and owner.process_start is not None
        and process_start(owner.pid) == owner.process_start
    ):
        return f"its process {owner.pid} is still running on this host"
    return None


def _lock_held(conn: psycopg.Connection, key: int) -> bool:
    row = conn.execute(read_sql("postgres/ledger/try_lock.sql"), {"key": key}).fetchone()
    acquired = bool(row and row[0])
    if acquired:
        conn.execute(read_sql("postgres/ledger/unlock.sql"), {"key": key})
    return not acquired


def _execution_gone(execution_arn: str | None) -> str | None:
    if not execution_arn:
        return None
    import boto3

    try:
        # arn:aws:states:<region>:<account>:execution:<state machine>:<name>
        client = boto3.client("stepfunctions", region_name=execution_arn.split(":")[3])
        status = client.describe_execution(executionArn=execution_arn)["status"]
    except Exception:  # cannot tell: treat as alive, an operator may unlock
        return None
    return None if status == "RUNNING" else f"execution {execution_arn} is {status}"


@contextmanager
def holding_run_lock(dsn: str, schema: str, run_id: str) -> Iterator[None]:
    """Hold run `run_id`'s advisory lock on a connection of its own until the block ends (a local run's
    proof of life: the lock dies with this process's session)."""
    conn = connect(dsn, schema, autocommit=True)
    key = run_lock_key(schema, run_id)
    try:
        conn.execute(read_sql("postgres/ledger/lock.sql"), {"key": key})
        yield
    finally:
        conn.close()  # ends the session, and with it the lock


@contextmanager
def opening_runs_serialised(conn: psycopg.Connection, schema: str) -> Iterator[None]:
    """Let one run at a time open in `schema`: deciding a takeover and taking the lock must not
    interleave with another run doing the same (the winner's pg_cron and flags would be undone)."""
    key = ledger_lock_key(schema)
    conn.execute(read_sql("postgres/ledger/lock.sql"), {"key": key})
    try:
        yield
    finally:
        conn.execute(read_sql("postgres/ledger/unlock.sql"), {"key": key})
