"""/healthz tells probes whether certdesk can serve: database, cache, and broker when it is
Redis; within its budget whatever does not answer (a frozen server: tests/faults/)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from certificates.selectors import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_with_json_when_all_answer(client: Client) -> None:
    """With the database up and the file-system broker, /healthz is 200 and says why."""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_answers_503_when_the_database_does_not(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that refuses new connections makes /healthz 503, and the JSON says why
    without naming a host (the probe is public)."""
    from django.db import connections

    def refused(*args: object, **kwargs: object) -> None:
        raise OperationalError('connection to server at "db.internal", port 5432 failed')

    # The probe opens a connection of its own: refuse every new one of this backend.
    monkeypatch.setattr(type(connections["default"]), "get_new_connection", refused)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "down"
    assert body["problems"] == {"database": "OperationalError (details in the server log)"}
    assert "db.internal" not in response.content.decode()


def test_healthz_answers_503_when_the_cache_fails(client: Client, settings: Any) -> None:
    """A Redis cache that refuses connections made /healthz a 500; now it is a 503 that says
    the cache is down and that the worker's heartbeat is unknown."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["cache"], body["database"]) == ("down", "ok")
    assert body["worker_heartbeat"] == "unknown (the cache does not answer)"


@pytest.fixture
def stuck_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A cache check that waits until the test releases it (a frozen server that no timeout
    ends); released and its thread ended afterwards in every case."""
    release = threading.Event()

    def wait_for_release() -> str:
        release.wait()
        return "never seen"

    monkeypatch.setattr(health, "_cache_check", wait_for_release)
    yield release
    release.set()
    thread = health._running.get("cache")
    if thread is not None:
        thread.join()


def test_a_check_that_does_not_answer_is_reported_down_within_the_budget(
    client: Client, settings: Any, stuck_cache: threading.Event
) -> None:
    """A check that never returns does not hold the probe: /healthz answers 503 once the budget
    is spent, saying the cache gave no answer within it; the next probe does not start a second
    stuck check but says the first is still waiting; once it ends, all is well again."""
    settings.CERTDESK_HEALTH_TIMEOUT_SECONDS = 0.2
    first = client.get("/healthz")
    assert first.status_code == 503
    assert first.json()["problems"] == {"cache": "no answer within 0.2 s"}

    second = client.get("/healthz")
    assert second.json()["problems"] == {"cache": "an earlier check is still waiting for an answer"}

    stuck_cache.set()
    health._running["cache"].join()
    third = client.get("/healthz")
    assert third.status_code == 200
    assert third.json()["problems"] == {}


def test_healthz_answers_503_when_the_redis_broker_does_not(client: Client, settings: Any) -> None:
    """A Redis broker that does not answer (nothing listens on port 1) makes /healthz 503."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def test_healthz_checks_a_real_redis_broker(client: Client, settings: Any, redis_url: str) -> None:
    """Against the real Redis, the broker is reported ok."""
    settings.CELERY_BROKER_URL = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "ok"
