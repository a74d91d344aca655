"""The bounded waits of issue 13 (point 4) are the ones each client library is handed: what
config.settings builds from the environment reaches kombu, redis-py and psycopg."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_the_settings_hand_their_timeouts_to_the_broker_cache_and_database_clients(
    refused_url: str, probe: Callable[..., dict[str, Any]]
) -> None:
    """Broker (kombu's Redis transport and its connect timeout), cache (redis-py's pool) and
    PostgreSQL (libpq's connect_timeout) all get the configured seconds, and a reused database
    connection is checked first (CONN_HEALTH_CHECKS). Nothing is connected to."""
    options = probe(
        "options",
        REDIS_URL=refused_url,
        DATABASE_URL="postgres://certdesk@127.0.0.1:1/certdesk",
        CERTDESK_REDIS_TIMEOUT_SECONDS="2.5",
        CERTDESK_DB_CONNECT_TIMEOUT_SECONDS="4",
    )["options"]["value"]
    transport = options["broker_transport_options"]
    assert (transport["socket_connect_timeout"], transport["socket_timeout"]) == (2.5, 2.5)
    assert options["broker_connect_timeout"] == 2.5
    assert options["cache_pool"] == {"socket_connect_timeout": 2.5, "socket_timeout": 2.5}
    assert options["database_connect_timeout"] == 4
    assert options["conn_health_checks"] is True


def test_the_default_timeouts_are_a_few_seconds(
    refused_url: str, probe: Callable[..., dict[str, Any]]
) -> None:
    """Unset, every wait is bounded by default: 3 s for Redis and for connecting to
    PostgreSQL (docs/configuration.md says so)."""
    options = probe(
        "options", REDIS_URL=refused_url, DATABASE_URL="postgres://certdesk@127.0.0.1:1/certdesk"
    )["options"]["value"]
    assert options["broker_transport_options"]["socket_timeout"] == 3
    assert options["cache_pool"]["socket_timeout"] == 3
    assert options["database_connect_timeout"] == 3
