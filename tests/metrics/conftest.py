"""/metrics under test: a token set, and the cache's scan and heartbeat marks cleared around
each test (helpers: tests/support/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from certificates.selectors.health import (
    EXPIRY_SCAN_CACHE_KEY,
    EXPIRY_SCAN_RUN_CACHE_KEY,
    HEARTBEAT_CACHE_KEY,
)
from tests.support.metrics import TOKEN

MARKS = (EXPIRY_SCAN_CACHE_KEY, EXPIRY_SCAN_RUN_CACHE_KEY, HEARTBEAT_CACHE_KEY)


@pytest.fixture(autouse=True)
def _no_marks() -> Iterator[None]:
    """The scan and heartbeat marks live in the cache, which outlives each test (Redis in CI)."""
    cache.delete_many(MARKS)
    yield
    cache.delete_many(MARKS)


@pytest.fixture
def metrics_on(settings: Any) -> str:
    """/metrics enabled with the tests' bearer token, no address allow-list."""
    settings.CERTDESK_METRICS_TOKEN = TOKEN
    settings.CERTDESK_METRICS_ALLOWED_IPS = []
    return TOKEN
