"""What /healthz reports, and the worker heartbeat it shows."""

from __future__ import annotations

from datetime import datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

HEARTBEAT_CACHE_KEY = "certdesk:worker-heartbeat"


def heartbeat_record() -> datetime:
    """Write the worker's heartbeat; read back by :func:`health_report`."""
    now = timezone.now()
    cache.set(HEARTBEAT_CACHE_KEY, now.isoformat(), timeout=None)
    return now


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except Exception:  # any driver error means "does not answer", the probe's only question
        return False


def _broker_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        return bool(client.ping())
    except redis.RedisError:
        return False


def health_report() -> dict[str, str | bool]:
    """What /healthz answers: ok only when the database (and a Redis broker) answer."""
    report: dict[str, str | bool] = {"database": "ok" if _database_answers() else "down"}
    broker_url: str = settings.CELERY_BROKER_URL
    if broker_url.startswith(("redis://", "rediss://")):
        report["broker"] = "ok" if _broker_answers(broker_url) else "down"
    else:
        report["broker"] = "not checked (file-system broker)"
    heartbeat = cache.get(HEARTBEAT_CACHE_KEY)
    report["worker_heartbeat"] = heartbeat or "never seen"
    report["ok"] = "down" not in (report["database"], report["broker"])
    return report
