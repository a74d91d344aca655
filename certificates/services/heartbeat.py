"""The worker's heartbeat: a write (to the cache), read back by /healthz (selectors/health.py)."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from certificates.selectors.health import HEARTBEAT_CACHE_KEY


def heartbeat_record() -> datetime:
    """Write the worker's heartbeat; read back by :func:`selectors.health.health_report`."""
    now = timezone.now()
    cache.set(HEARTBEAT_CACHE_KEY, now.isoformat(), timeout=None)
    return now
