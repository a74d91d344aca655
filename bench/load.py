"""Concurrent logged-in dashboard requests against gunicorn with 2 workers, for a while.

wrk (Debian's package) drives the load; the bench installs it when it is missing and it runs
as root. Without it, a small threaded Python client does, and the table says so: its figures
are lower, as it competes with gunicorn for the same two cores under the GIL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench import processes
from bench.table import Row, percentile, say

WORKERS = 2


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    say("  wrk is missing: apt-get install -y wrk")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if _quiet(install) != 0:
        # A machine whose package lists were never fetched knows no wrk yet.
        _quiet(["apt-get", "update", "-q"])
        _quiet(install)
    return shutil.which("wrk")


def _quiet(command: list[str]) -> int:
    done = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return done.returncode


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


@dataclass(frozen=True)
class Outcome:
    rate: float  # requests per second
    p50: float
    p99: float  # seconds
    client_errors: int  # connections refused, reset or timed out, as the client saw them


def _wrk(wrk: str, port: int, cookie: str, seconds: int, connections: int) -> Outcome:
    """From wrk's own report (``--latency`` adds the percentiles)."""
    done = subprocess.run(
        [
            wrk,
            "--threads",
            "2",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "--header",
            f"Cookie: {cookie}",
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p50 = re.search(r"^\s+50%\s+(\S+)", done.stdout, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", done.stdout, re.MULTILINE)
    if rate is None or p50 is None or p99 is None:
        raise RuntimeError(f"wrk's report could not be read:\n{done.stdout}")
    # "Socket errors: connect 0, read 0, write 0, timeout 0", only when there were some.
    socket_errors = re.search(r"Socket errors: (.*)", done.stdout)
    if socket_errors:
        say(f"  wrk socket errors: {socket_errors.group(1)}")
    errors = sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    return Outcome(float(rate.group(1)), _seconds(p50.group(1)), _seconds(p99.group(1)), errors)


def _python(port: int, cookie: str, seconds: int, connections: int) -> Outcome:
    """The fallback: ``connections`` threads, each requesting until the time is up."""
    latencies: list[float] = []
    failures: list[OSError] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                processes.get(port, "/", cookie)
            except OSError as error:
                with lock:
                    failures.append(error)
                continue
            with lock:
                latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Outcome(
        len(latencies) / seconds,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        len(failures),
    )


def run(cookie: str, *, seconds: int, connections: int, certificates: int) -> Row:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="certdesk-bench-load-") as folder:
        log = Path(folder) / "access.log"
        with processes.gunicorn(workers=WORKERS, access_log=log) as (port, _master):
            if processes.get(port, "/", cookie) != 200:
                raise RuntimeError("the dashboard does not answer 200 with the session cookie")
            start_lines = len(log.read_text().splitlines())
            if wrk:
                outcome = _wrk(wrk, port, cookie, seconds, connections)
            else:
                outcome = _python(port, cookie, seconds, connections)
        # Every response gunicorn wrote during the run: anything but 200 (a 302 to the login
        # page included) is an error, and so is a connection the client lost.
        statuses = log.read_text().splitlines()[start_lines:]
    errors = outcome.client_errors + sum(1 for status in statuses if status.strip() != "200")
    tool = "wrk, 2 threads" if wrk else "Python threads (wrk could not be installed)"
    return Row(
        f"Load: logged-in dashboard, gunicorn {WORKERS} sync workers, {tool}, "
        f"{connections} connections, {seconds} s ({certificates:,} certificates)",
        f"{outcome.rate:,.0f} req/s, p50 {outcome.p50 * 1000:,.0f} ms, "
        f"p99 {outcome.p99 * 1000:,.0f} ms, {errors} errors",
        f"{len(statuses):,} responses in gunicorn's access log",
        "",
        "0 errors",
        errors == 0 and bool(statuses),
    )
