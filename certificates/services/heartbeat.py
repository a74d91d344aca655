"""The worker's heartbeat: a write (to the cache), read back by /healthz (selectors/health.py).

And the expiry scan's mark, the same way: when the last scan finished, with how many errors,
and when the last one finished with none; /metrics reports them (selectors/metrics.py). Kept in
the cache like the heartbeat, not in a table: after the cache is emptied they are unknown until
the next scan (an hour at most by default), which the alert rules allow for
(deploy/prometheus/alerts.yml).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from certificates.selectors.health import (
    EXPIRY_SCAN_CACHE_KEY,
    EXPIRY_SCAN_RUN_CACHE_KEY,
    HEARTBEAT_CACHE_KEY,
)

logger = logging.getLogger(__name__)


def heartbeat_record() -> datetime:
    """Write the worker's heartbeat; read back by :func:`selectors.health.health_report`."""
    now = timezone.now()
    cache.set(HEARTBEAT_CACHE_KEY, now.isoformat(), timeout=None)
    return now


def expiry_scan_record(*, errors: int) -> datetime:
    """Mark that an expiry scan finished now, with ``errors`` reminders it could not process;
    with none, it is also the last successful scan.

    Never raises: the scan's work is done by then, and a cache that does not answer must not
    turn it into a failed task (the mark is then missing, as after the cache was emptied).
    """
    now = timezone.now()
    try:
        cache.set(EXPIRY_SCAN_RUN_CACHE_KEY, {"at": now.isoformat(), "errors": errors}, None)
        if not errors:
            cache.set(EXPIRY_SCAN_CACHE_KEY, now.isoformat(), timeout=None)
    except Exception as error:  # the cache is down: the scan itself succeeded
        logger.warning(
            "The expiry scan could not record its end in the cache: %s: %s",
            type(error).__name__,
            error,
        )
    return now
