"""Run by the fault tests as ``python -m tests.faults.probe ACTION...`` under the production
settings module (``config.settings``) and the environment the test gives: what certdesk's own
clients do against a Redis or PostgreSQL the test has stopped, refused or frozen.

Prints one JSON object: for each action, what it answered or the exception it raised.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

import django

django.setup()

from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


def healthz() -> Any:
    response = Client().get("/healthz")
    return {"status": response.status_code, "body": response.json()}


def cache() -> Any:
    return caches["default"].get("certdesk:probe")


def publish() -> Any:
    from certificates.tasks import heartbeat

    # One attempt, no publish retries: what the broker's own socket timeouts do.
    return str(heartbeat.apply_async(retry=False).id)


def options() -> Any:
    """The timeouts each client library was handed by the settings."""
    from config.celery import app

    broker = app.connection_for_write()
    redis_cache = caches["default"]
    pool = redis_cache._cache.get_client().connection_pool  # type: ignore[attr-defined]
    return {
        "broker_transport_options": broker.transport_options,
        "broker_connect_timeout": broker.connect_timeout,
        "cache_pool": {
            key: pool.connection_kwargs.get(key)
            for key in ("socket_connect_timeout", "socket_timeout")
        },
        "database_connect_timeout": connection.get_connection_params().get("connect_timeout"),
        "conn_health_checks": connection.settings_dict["CONN_HEALTH_CHECKS"],
    }


ACTIONS = {"healthz": healthz, "cache": cache, "publish": publish, "options": options}


def main(names: list[str]) -> None:
    results: dict[str, Any] = {}
    for name in names:
        began = time.monotonic()
        try:
            results[name] = {"value": ACTIONS[name]()}
        except Exception as error:
            results[name] = {"error": type(error).__name__}
        results[name]["seconds"] = round(time.monotonic() - began, 2)
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
