"""A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, a free loopback port.

Started once per test process, on first use, and stopped at exit. Needs the PostgreSQL server
binaries (Debian: `apt-get install postgresql`, under /usr/lib/postgresql/*/bin) and the psycopg
driver; `skip_reason()` says what is missing. initdb refuses to run as root: as root, the cluster
runs as the unprivileged `postgres` user (or `nobody`), through `setpriv`.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

PASSWORD = "throwaway-" + uuid.uuid4().hex[:8]
USER = "diplomates"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _unprivileged() -> pwd.struct_passwd | None:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


def skip_reason() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    if bin_dir() is None:
        return "PostgreSQL server binaries not found (Debian: apt-get install -y postgresql)"
    if os.geteuid() == 0 and (_unprivileged() is None or shutil.which("setpriv") is None):
        return "running as root without a 'postgres' user or setpriv: initdb refuses root"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """One PostgreSQL server on 127.0.0.1, in a temporary folder; `url()` for a fresh database."""

    def __init__(self) -> None:
        binaries = bin_dir()
        assert binaries is not None
        self.bin = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="diplomates-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.user = _unprivileged() if os.geteuid() == 0 else None
        if self.user is not None:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        secret = self.folder / "pwfile"
        secret.write_text(PASSWORD + "\n")
        if self.user is not None:
            os.chown(secret, self.user.pw_uid, self.user.pw_gid)
        self._as_owner(
            "initdb", "-D", str(self.data), "-U", USER, "--pwfile", str(secret),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self._as_owner(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self.running = True

    def _as_owner(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.user is not None:
            command = [
                "setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
                "--clear-groups", *command,
            ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr[-2000:]}")

    def url(self, database: str = "postgres", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql+psycopg://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:10]
        dsn = f"host=127.0.0.1 port={self.port} user={USER} password={PASSWORD} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        try:
            self._as_owner("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


_shared: Cluster | None = None


def shared_cluster() -> Cluster:
    """The test process's cluster, started on first use and stopped at exit."""
    global _shared
    if _shared is None:
        _shared = Cluster()
        atexit.register(_shared.stop)
    return _shared
