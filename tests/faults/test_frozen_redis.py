"""A Redis (broker and cache) that is frozen or refuses connections: /healthz still answers,
503, and no client of certdesk waits for good (issue 13, point 4).

The Redis is the test's own (redis-server on a spare port, frozen with SIGSTOP of its pid);
certdesk runs its production settings in a child process that the test kills and fails on if it
does not end: without the timeouts, each of these would hang.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from drill.stack import RedisServer

pytestmark = pytest.mark.slow


def test_healthz_answers_503_while_the_redis_broker_and_cache_are_frozen(
    own_redis: RedisServer, probe: Callable[..., dict[str, Any]]
) -> None:
    """Redis frozen (the kernel still accepts connections, nothing answers): /healthz says 503
    with the broker and the cache down and why; a cache read and a publish fail instead of
    hanging."""
    own_redis.freeze()
    result = probe(
        "healthz",
        "cache",
        "publish",
        REDIS_URL=own_redis.url,
        CERTDESK_REDIS_TIMEOUT_SECONDS="1",
        CERTDESK_HEALTH_TIMEOUT_SECONDS="1",
    )
    healthz = result["healthz"]["value"]
    assert healthz["status"] == 503
    body = healthz["body"]
    assert body["ok"] is False
    assert body["database"] == "ok"
    assert (body["broker"], body["cache"]) == ("down", "down")
    assert body["worker_heartbeat"] == "unknown (the cache does not answer)"
    assert set(body["problems"]) == {"broker", "cache"}
    assert result["cache"]["error"] == "TimeoutError"
    assert result["publish"]["error"] == "OperationalError"


def test_healthz_answers_503_when_redis_refuses_connections(
    refused_url: str, probe: Callable[..., dict[str, Any]]
) -> None:
    """Nothing listens on the Redis port: /healthz says 503, broker and cache down (a cache
    that failed was a 500 before)."""
    result = probe("healthz", REDIS_URL=refused_url)
    healthz = result["healthz"]["value"]
    assert healthz["status"] == 503
    assert (healthz["body"]["broker"], healthz["body"]["cache"]) == ("down", "down")
    assert "ConnectionError" in healthz["body"]["problems"]["cache"]


def test_healthz_is_200_again_once_the_redis_is_thawed(
    own_redis: RedisServer, probe: Callable[..., dict[str, Any]]
) -> None:
    """Freeze and thaw: the probe reports the broker and the cache ok again (no check is left
    stuck from the frozen time in a new process, and nothing stays down)."""
    own_redis.freeze()
    own_redis.thaw()
    result = probe("healthz", REDIS_URL=own_redis.url)
    assert result["healthz"]["value"]["status"] == 200
    assert result["healthz"]["value"]["body"]["problems"] == {}
