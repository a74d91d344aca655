"""gunicorn's settings for certdesk's web process (docker/entrypoint.sh runs
``gunicorn config.wsgi --config python:config.gunicorn_conf``).

Request limits, before Django sees anything (https://docs.gunicorn.org/en/stable/settings.html):
the request line, the number and the size of header fields are bounded here; the body is bounded
by certdesk itself (CERTDESK_REQUEST_MAX_BYTES, certificates/middleware.py), which gunicorn has
no setting for. ``timeout`` kills a worker stuck on one request, so a slow request cannot hold a
worker forever. Access lines go to stdout with the calendar feed's token masked.

Command-line options given after ``web`` (entrypoint.sh) override these values.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from config.accesslog import mask_calendar_tokens

bind = ["0.0.0.0:8000"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Longest request line (method, path, query, version): certdesk's URLs are short; a login's
# ?next= adds a path at most. gunicorn answers 414 past it.
limit_request_line = 4094
# Header fields per request: a browser sends about 15, a proxy adds a few.
limit_request_fields = 50
# Bytes per header field: the session and CSRF cookies fit with room to spare. 431 past it.
limit_request_field_size = 8190
# Seconds a worker may spend on one request before gunicorn replaces it.
timeout = 30
graceful_timeout = 30
keepalive = 5
accesslog = "-"
logger_class = "config.gunicorn_conf.GunicornLogger"


def on_starting(server: Any) -> None:
    """In the master, before any worker: the folder where every worker writes its
    django-prometheus counts, so that /metrics adds up all the workers, not only the one a
    scrape reaches (prometheus_client's multiprocess mode, certificates/metrics/exposition.py).
    PROMETHEUS_MULTIPROC_DIR names it (its counts of an earlier run are removed), else a new
    temporary folder."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="certdesk-metrics-")


def child_exit(server: Any, worker: Any) -> None:
    """A worker that ended: its live gauges are dropped; its counters stay in the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class GunicornLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with the calendar token masked in every access-log field (the request
    line, the path, the referrer and the headers alike)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_calendar_tokens(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
