"""The real processes the bench starts (gunicorn, a Celery worker) and what /proc says of them."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def proc_status(pid: int) -> dict[str, int]:
    """The ``Vm*`` lines of /proc/<pid>/status, in kB: VmHWM is the peak resident set size."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name.startswith("Vm") and value.strip().endswith("kB"):
            figures[name] = int(value.split()[0])
    return figures


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers), from the parent field of /proc/*/stat."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def get(port: int, path: str, cookie: str = "") -> int:
    """One GET on loopback; the status code (a connection per request, as gunicorn's sync
    workers close it after each response anyway)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        try:
            if get(port, "/healthz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful stop for gunicorn and Celery), SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn(*, workers: int, access_log: Path | None = None) -> Iterator[tuple[int, int]]:
    """``gunicorn config.wsgi`` with sync workers, as docker compose runs it; yields its port
    and the master's pid once /healthz answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    if access_log is not None:
        # The status code alone, one line per request: the server's own count of failures.
        command += ["--access-logfile", str(access_log), "--access-logformat", "%(s)s"]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=os.environ.copy())
    try:
        wait_until_up(port, process)
        yield port, process.pid
    finally:
        stop(process)


@contextmanager
def celery_worker() -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A config worker --pool solo``: one process does all the work, so its own
    VmHWM is the worker's whole peak (with prefork the children would each hold their own)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--quiet",  # no banner
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=os.environ.copy(),
    )
    try:
        yield process
    finally:
        stop(process)
