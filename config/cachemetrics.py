"""Django's cache backends, counted by django-prometheus (its ``django_cache_*`` metrics).

django-prometheus ships wrappers of its own, but its Redis one imports django-redis (which
certdesk does not use: it has Django's own RedisCache) and its file and memory ones answer the
default for a cached ``0`` or ``""``. These count the same ``get`` calls, hits and misses, under
the same metric names and ``backend`` labels, and return exactly what Django's backends return.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import filebased, locmem, redis
from django_prometheus.cache.metrics import (  # type: ignore[import-untyped]
    django_cache_get_fail_total,
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)

_MISSING = object()


class _Counted:
    """Counts ``get``: each call, and whether it was a hit or a miss (or failed)."""

    metrics_label = ""

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        django_cache_get_total.labels(backend=self.metrics_label).inc()
        try:
            value = super().get(key, _MISSING, version=version)  # type: ignore[misc]
        except Exception:
            django_cache_get_fail_total.labels(backend=self.metrics_label).inc()
            raise
        if value is _MISSING:
            django_cache_misses_total.labels(backend=self.metrics_label).inc()
            return default
        django_cache_hits_total.labels(backend=self.metrics_label).inc()
        return value


class RedisCache(_Counted, redis.RedisCache):
    metrics_label = "native_redis"


class FileBasedCache(_Counted, filebased.FileBasedCache):
    metrics_label = "filebased"


class LocMemCache(_Counted, locmem.LocMemCache):
    metrics_label = "locmem"
