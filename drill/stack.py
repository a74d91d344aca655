"""Servers of the drill's (and the fault tests') own: Redis and PostgreSQL on spare ports.

Each one runs as a child process in a temporary folder, is frozen and thawed with SIGSTOP and
SIGCONT of its own process ids only, and is stopped by process id. Nothing here touches the
machine's shared services (5432, 6379).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis


class ServiceMissing(RuntimeError):
    """A server binary is not installed (redis-server, PostgreSQL's initdb/postgres)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (PostgreSQL's backends), from /proc/*/stat."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, its_parent in parents.items() if its_parent == parent]
        found += children
        frontier += children
    return sorted(found)


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _wait_for(what: str, ready: object, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before answering")
        try:
            if callable(ready) and ready():
                return
        except Exception:  # noqa: S110 - not up yet: any error means "try again"
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


def _stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        _signal([process.pid], signal.SIGCONT)
        process.send_signal(signum)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """``redis-server`` on a spare port, without persistence."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise ServiceMissing("redis-server is not installed")
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        assert self.binary is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.folder),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
        _wait_for("redis-server", client.ping, self.process, 20)
        client.close()
        return self

    def freeze(self) -> None:
        assert self.process is not None
        _signal([self.process.pid], signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None:
            _signal([self.process.pid], signal.SIGCONT)

    def kill(self) -> None:
        """As a crash: SIGKILL, so nothing is saved or said to the clients."""
        if self.process is not None:
            _stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise ServiceMissing(f"PostgreSQL's {name} is not installed")
    return path


def _version_key(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdecimal() else 0


class PostgresCluster:
    """A PostgreSQL cluster of its own (initdb in ``folder``), trust authentication on
    127.0.0.1, database ``postgres``. Run as the ``postgres`` system user when this process is
    root (PostgreSQL refuses to run as root)."""

    def __init__(self, port: int | None = None) -> None:
        self.initdb = _postgres_bin("initdb")
        self.postgres = _postgres_bin("postgres")
        # Directly under the system's temporary folder, which the postgres user can traverse.
        self.folder = Path(tempfile.mkdtemp(prefix="certdesk-pg-"))
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen: list[int] = []
        self.user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PostgresCluster:
        data = self.folder / "data"
        if self.user is not None:
            shutil.chown(self.folder, self.user, self.user)
        if not data.exists():
            subprocess.run(
                [self.initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
                check=True,
                stdout=subprocess.DEVNULL,
                user=self.user,
            )
        self.process = subprocess.Popen(
            [
                self.postgres,
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.folder),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self.user,
        )

        def answers() -> bool:
            with psycopg.connect(self.url, connect_timeout=2) as connection:
                return connection.execute("SELECT 1").fetchone() == (1,)

        _wait_for("postgres", answers, self.process, 30)
        return self

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: the kernel still accepts connections on
        the port, but nothing answers, as with a server stuck on I/O."""
        assert self.process is not None
        self.frozen = [self.process.pid, *descendants(self.process.pid)]
        _signal(self.frozen, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal(self.frozen, signal.SIGCONT)
        self.frozen = []

    def stop(self) -> None:
        """Thawed first, then an immediate shutdown (SIGQUIT) of the postmaster, by its pid."""
        self.thaw()
        if self.process is not None:
            pids = descendants(self.process.pid)
            _signal(pids, signal.SIGCONT)
            _stop(self.process, signal.SIGQUIT)
        shutil.rmtree(self.folder, ignore_errors=True)
