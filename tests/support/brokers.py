"""A Redis broker of the test's own (never the machine's shared one), and the Celery app
pointed at it, so a test can take the broker away and bring it back.

The server is ``redis-server`` on a spare loopback port, without persistence, started as a
child process and stopped by its process id: killed, it refuses connections at once, which is
the "broker down" of a fault drill.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis as redis_lib

from tests.support.availability import missing_service

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# Connections to a broker that is down fail at once (refused); these bound the rest.
SHORT_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}


def spare_port() -> int:
    """A loopback port nobody listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """``redis-server`` on ``port``: :meth:`start` (again after :meth:`kill`, same port)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not shutil.which(REDIS_SERVER):
            missing_service(f"{REDIS_SERVER} is missing: install Debian's redis-server")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
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
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client()
        deadline = time.monotonic() + 10
        while True:  # until it answers: it is ready within milliseconds
            try:
                client.ping()
                return
            except redis_lib.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None

    def kill(self) -> None:
        """Stop it at once, by its process id; a connection to the port is then refused."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def client(self) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.url, **SHORT_TIMEOUTS)


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(spare_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _reset_connections(app: Any, *, close: bool) -> None:
    """Forget the app's broker connections, so the next publish connects to the URL the
    configuration names. ``close`` only the test's own: kombu keeps one pool per URL for the
    whole process, and the suite's (eager tasks acquire a producer too) must stay usable."""
    pool = getattr(app, "_pool", None)
    if close and pool is not None:
        pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """certdesk's Celery app publishes to ``url`` for real (the suite runs tasks eagerly
    otherwise), with short socket timeouts; everything is put back afterwards."""
    from config.celery import app

    overrides: dict[str, Any] = {
        "broker_url": url,
        "task_always_eager": False,
        "broker_transport_options": {"visibility_timeout": 3600, **SHORT_TIMEOUTS},
        "broker_connection_timeout": 1,
    }
    saved = {key: app.conf[key] for key in overrides}
    _reset_connections(app, close=False)
    app.conf.update(overrides)
    try:
        yield
    finally:
        _reset_connections(app, close=True)
        app.conf.update(saved)
