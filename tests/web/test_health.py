"""/healthz tells probes whether certdesk can serve: database, and broker when it is Redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

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
    """A database that raises on a query makes /healthz 503."""
    from django.db import connection

    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


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
