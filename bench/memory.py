"""Peak resident memory of a web process after 1,000 requests and of a worker after 1,000
reminder emails, read from /proc (VmHWM) while the process still runs."""

from __future__ import annotations

import time

from bench import processes
from bench.table import Row
from certificates.models import OutboundEmail

LIMIT_MB = 150
REQUESTS = 1_000
# What a user clicks through; the audit log is an administrator's page.
PAGES = ["/", "/certificates/", "/requests/", "/audit/"]


def _mb(kilobytes: int) -> float:
    return kilobytes / 1024


def web(cookie: str, *, certificates: int) -> Row:
    """One gunicorn sync worker serves every request, so its peak is the web process's."""
    with processes.gunicorn(workers=1) as (port, master):
        (worker,) = processes.children(master)
        at_start = processes.proc_status(worker)["VmRSS"]
        failures = 0
        for index in range(REQUESTS):
            if processes.get(port, PAGES[index % len(PAGES)], cookie) != 200:
                failures += 1
        peak = processes.proc_status(worker)["VmHWM"]
        master_peak = processes.proc_status(master)["VmHWM"]
    if failures:
        raise RuntimeError(f"{failures} of {REQUESTS} web requests did not answer 200")
    return Row(
        f"Web: peak RSS of a gunicorn sync worker after {REQUESTS:,} logged-in requests "
        f"(dashboard, certificate list, request list, audit log; {certificates:,} certificates)",
        f"{_mb(peak):.0f} MB (VmHWM)",
        f"after start-up: {_mb(at_start):.0f} MB; master: {_mb(master_peak):.0f} MB",
        "",
        f"< {LIMIT_MB} MB",
        _mb(peak) < LIMIT_MB,
    )


def worker(*, emails: int, timeout: float = 300) -> Row:
    """The worker drains the emails the first scan queued on Redis, through Django's dummy
    mail backend (claim, compose, guard, "send", record: everything but SMTP)."""
    start = time.perf_counter()
    with processes.celery_worker() as process:
        deadline = time.monotonic() + timeout
        while True:
            sent = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count()
            if sent >= emails:
                break
            if process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker sent {sent} of {emails} emails in {timeout} s")
            time.sleep(0.25)
        elapsed = time.perf_counter() - start
        peak = processes.proc_status(process.pid)["VmHWM"]
    return Row(
        f"Worker: peak RSS of `celery -A config worker --pool solo` after sending {emails:,} "
        "reminder emails from Redis (EMAIL_URL=dummymail://)",
        f"{_mb(peak):.0f} MB (VmHWM)",
        f"{emails:,} emails in {elapsed:.1f} s with start-up ({emails / elapsed:.0f}/s)",
        "",
        f"< {LIMIT_MB} MB",
        _mb(peak) < LIMIT_MB,
    )
