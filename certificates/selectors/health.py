"""What /healthz reports, with the worker heartbeat (written by services/heartbeat.py).

Every check runs in its own thread with a fresh client (never the request's database
connection, which a frozen server would hold for good) and its own timeouts, and the probe waits
for all of them at most ``CERTDESK_HEALTH_TIMEOUT_SECONDS``: a check not done by then is reported
down, so /healthz answers within that budget whatever is down, refused or frozen. A check still
waiting from an earlier probe is not started again (at most one stuck thread per check and
process); it ends by itself once the server answers or its own timeout fires.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend

logger = logging.getLogger(__name__)

# Written by services.heartbeat.heartbeat_record (the beat-scheduled task), read here.
HEARTBEAT_CACHE_KEY = "certdesk:worker-heartbeat"
# Written by services.heartbeat.expiry_scan_record at the end of each expiry scan, read by
# /metrics (selectors/metrics.py): when the last scan finished with no error, and the last run.
EXPIRY_SCAN_CACHE_KEY = "certdesk:expiry-scan-success"
EXPIRY_SCAN_RUN_CACHE_KEY = "certdesk:expiry-scan-run"


def _database_check(timeout: float) -> str:
    """A fresh connection (connect and statement timeouts of the probe's budget) answers
    ``SELECT 1``; closed again whatever happens."""
    configured = connections.settings[DEFAULT_DB_ALIAS]
    settings_dict: dict[str, Any] = {**configured, "OPTIONS": {**configured.get("OPTIONS", {})}}
    backend = load_backend(settings_dict["ENGINE"])
    # The vendor, not ENGINE: the settings wrap the backend to count its queries (/metrics).
    postgresql = backend.DatabaseWrapper.vendor == "postgresql"
    if postgresql:
        # libpq counts whole seconds, 2 at least.
        settings_dict["OPTIONS"]["connect_timeout"] = max(2, math.ceil(timeout))
    probe = backend.DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)
    try:
        with probe.cursor() as cursor:
            if postgresql:
                # A server that accepts the connection but is too slow to answer.
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, false)",
                    [f"{math.ceil(timeout * 1000)}ms"],
                )
            cursor.execute("SELECT 1")
            if cursor.fetchone() != (1,):
                raise RuntimeError("SELECT 1 did not return 1")
    finally:
        probe.close()
    return "ok"


def _broker_check(url: str, timeout: float) -> str:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        if not client.ping():
            raise RuntimeError("PING was not answered with PONG")
    finally:
        client.close()
    return "ok"


def _cache_check() -> str:
    """The worker's heartbeat, read with a fresh cache client (its timeouts: settings.CACHES)."""
    fresh = caches.create_connection("default")
    try:
        heartbeat = fresh.get(HEARTBEAT_CACHE_KEY)
    finally:
        fresh.close()
    return str(heartbeat) if heartbeat else "never seen"


# The thread of each check still running, from this probe or an earlier one.
_running: dict[str, threading.Thread] = {}
_running_lock = threading.Lock()
_BUSY = "an earlier check is still waiting for an answer"


def _run_checks(
    checks: dict[str, Callable[[], str]], budget: float
) -> dict[str, str | BaseException | None]:
    """Each check's result (its value or the exception it raised), None when not done in time
    and ``_BUSY`` when the previous one has not ended yet."""
    results: dict[str, str | BaseException | None] = dict.fromkeys(checks)
    started: list[threading.Thread] = []

    def run(name: str, check: Callable[[], str]) -> None:
        try:
            results[name] = check()
        except Exception as error:  # any failure means "does not answer", the probe's question
            logger.warning(
                "healthz: the %s check failed: %s: %s", name, type(error).__name__, error
            )
            results[name] = error

    for name, check in checks.items():
        with _running_lock:
            previous = _running.get(name)
            if previous is not None and previous.is_alive():
                results[name] = _BUSY
                continue
            thread = threading.Thread(
                target=run, args=(name, check), name=f"healthz-{name}", daemon=True
            )
            _running[name] = thread
        thread.start()
        started.append(thread)
    deadline = time.monotonic() + budget
    for thread in started:
        thread.join(max(0.0, deadline - time.monotonic()))
    return dict(results)


def _state(result: str | BaseException | None, budget: float) -> tuple[str, str | None]:
    """("ok" or "down", the reason when down); the reason names no host, port or user: /healthz
    is public, and the server log has the details."""
    if result is None:
        return "down", f"no answer within {budget:g} s"
    if result == _BUSY:
        return "down", _BUSY
    if isinstance(result, BaseException):
        return "down", f"{type(result).__name__} (details in the server log)"
    return "ok", None


def health_report() -> dict[str, Any]:
    """What /healthz answers: ok only when the database, the cache (and a Redis broker) answer
    within ``CERTDESK_HEALTH_TIMEOUT_SECONDS``; ``problems`` says why a part is down."""
    began = time.monotonic()
    budget = float(settings.CERTDESK_HEALTH_TIMEOUT_SECONDS)
    broker_url: str = settings.CELERY_BROKER_URL
    checks: dict[str, Callable[[], str]] = {
        "database": lambda: _database_check(budget),
        "cache": _cache_check,
    }
    if broker_url.startswith(("redis://", "rediss://")):
        checks["broker"] = lambda: _broker_check(broker_url, budget)
    results = _run_checks(checks, budget)

    report: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name in ("database", "broker", "cache"):
        if name not in checks:
            report[name] = "not checked (file-system broker)"
            continue
        report[name], reason = _state(results[name], budget)
        if reason is not None:
            problems[name] = reason
    heartbeat = results["cache"]
    report["worker_heartbeat"] = (
        heartbeat if report["cache"] == "ok" else "unknown (the cache does not answer)"
    )
    report["ok"] = not problems
    report["problems"] = problems
    report["seconds"] = round(time.monotonic() - began, 2)
    return report
