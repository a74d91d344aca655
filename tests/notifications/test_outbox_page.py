"""/outbox/ shows the notifications beside the emails (issue 18): channel, event, title,
status, attempts, last error; never key material; a constant number of queries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certificates import crypto
from certificates.models import Environment, OutboundNotification
from certificates.services.notifications import CreatedChannel, Event, notifications_queue

pytestmark = pytest.mark.django_db


def _queue(environment: Environment, count: int, start: int = 0) -> None:
    notifications_queue(
        [
            Event(
                environment=environment,
                event="certificate_installed",
                key=f"installed:{n}",
                title=f"Certificate installed: number {n}",
                text="x",
            )
            for n in range(start, start + count)
        ]
    )


def test_the_outbox_shows_the_notifications(
    sandbox: Environment, admin_client: Client, make_channel: Callable[..., CreatedChannel]
) -> None:
    make_channel("webhook", "https://hooks.acme.example/x", name="ops webhook")
    _queue(sandbox, 2)
    OutboundNotification.objects.filter(event_key="installed:0").update(
        status="failed", attempts=2, last_error="The webhook answered HTTP 503 Service Unavailable"
    )
    text = admin_client.get("/outbox/").content.decode()
    assert "Chat and webhook notifications" in text
    assert "2 notifications, newest first" in text
    assert "Certificate installed: number 0" in text
    assert "ops webhook" in text
    assert "Webhook (signed JSON), Sandbox" in text
    assert "The webhook answered HTTP 503 Service Unavailable" in text
    assert "A certificate installed" in text
    filtered = admin_client.get("/outbox/?status=failed").content.decode()
    assert "1 notification, newest first" in filtered
    assert "number 1" not in filtered


def test_an_error_carrying_key_material_is_withheld(
    sandbox: Environment, admin_client: Client, make_channel: Callable[..., CreatedChannel]
) -> None:
    make_channel("webhook", "https://hooks.acme.example/x")
    _queue(sandbox, 1)
    key = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
    OutboundNotification.objects.update(last_error=key, title=key[:255])
    text = admin_client.get("/outbox/").content.decode()
    assert "PRIVATE KEY" not in text
    assert "(withheld: it carries private-key material)" in text


def test_the_page_reads_as_many_queries_for_60_notifications_as_for_1(
    sandbox: Environment,
    production: Environment,
    admin_client: Client,
    make_channel: Callable[..., CreatedChannel],
) -> None:
    make_channel("webhook", "https://hooks.acme.example/x")
    _queue(sandbox, 1)
    admin_client.get("/outbox/")  # the session's first request records it (allauth)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/outbox/").status_code == 200
    make_channel("slack", "https://hooks.slack.com/services/T1/B1/abc", environment=production)
    _queue(sandbox, 59, start=1)
    _queue(production, 10)
    with CaptureQueriesContext(connection) as many:
        page = admin_client.get("/outbox/")
    assert len(many) == len(few)
    assert "70 notifications" in page.content.decode()
    assert "Page 1 of 2" in page.content.decode()
    second = admin_client.get("/outbox/?npage=2").content.decode()
    assert "Page 2 of 2" in second
