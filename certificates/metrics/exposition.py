"""The text of /metrics: django-prometheus' request, database and cache metrics, then certdesk's
own figures, in the Prometheus text format 0.0.4 (which every Prometheus reads).

django-prometheus counts in the process that served each request. Under gunicorn's several
workers, ``PROMETHEUS_MULTIPROC_DIR`` (set by ``config/gunicorn_conf.py``) makes every worker
write its counts there, and a scrape adds them all up, whichever worker answers it.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from certificates.metrics import collector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def _process_metrics() -> bytes:
    """This process's registry, or every worker's counts in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def scrape() -> bytes:
    """One scrape: the process metrics, then certdesk's (read from the database now). Each part
    names its own metrics (django_*, python_*, process_* and certdesk_*), so the two texts
    follow each other as one page."""
    return _process_metrics() + collector.collect()
