"""Slack and Microsoft Teams through Apprise, against local receivers (issue 18): the requests
Apprise makes, checked against the shapes Slack and Microsoft document.

- Slack, an incoming webhook (api.slack.com/messaging/webhooks): a POST of JSON to
  /services/T…/B…/…; the message in ``text``, ``blocks`` or ``attachments`` (here one
  attachment: ``title``, ``text``, ``color``), with &, < and > escaped as Slack's formatting
  reference asks. Apprise's Slack plugin is pointed at the receiver (its base address).
- Teams, a Workflows webhook ("Post to a channel when a webhook request is received"): a POST
  to /workflows/<id>/triggers/manual/paths/invoke?api-version=…&sp=…&sv=1.0&sig=… of
  ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "version",
  "body": [TextBlock, …]}}]}``, over HTTPS (a receiver with its own CA, trusted through
  REQUESTS_CA_BUNDLE as an operator's proxy CA would be).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certificates import notify
from certificates.models import Environment, NotificationChannel, OutboundNotification
from certificates.services import Actor
from certificates.services.notifications import (
    CreatedChannel,
    notification_channel_test,
    outbound_notification_deliver,
)
from tests.notifications.conftest import SLACK_URL
from tests.support.receiver import Receiver

pytestmark = pytest.mark.django_db

TEAMS_NATIVE = (
    "https://prod-161.westeurope.logic.azure.com:443/workflows/643e69f83c8944438d68119179a10a64"
    "/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
    "&sig=KODuebWbDGYFr0z0eu-6Rj8aUKz7108W3wrNJZxFE5A"
)


def test_slack_gets_an_incoming_webhook_message_of_the_documented_shape(
    sandbox: Environment,
    make_channel: Callable[..., CreatedChannel],
    receiver: Receiver,
    slack_at: Callable[[Receiver], None],
    committed: Any,
) -> None:
    slack_at(receiver)
    channel = make_channel("slack", SLACK_URL, name="#certificates").channel
    row = committed(notification_channel_test, actor=Actor.cli(), channel=channel)

    (arrived,) = receiver.requests
    assert arrived.path == "/services/T0CERTDESK/B0CERTDESK/xoxSecretToken123"
    assert arrived.headers["Content-Type"].startswith("application/json")
    payload = arrived.json()
    assert isinstance(payload, dict)
    assert {"text", "blocks", "attachments"} & set(payload), "Slack needs one of them"
    (attachment,) = payload["attachments"]
    assert attachment["title"] == "Test message from certdesk (Sandbox)"
    assert "the channel “#certificates” of Sandbox works" in attachment["text"]
    assert attachment["text"].endswith(
        "https://certdesk.example.com/settings/environments/sandbox/notifications/"
    )
    assert attachment["color"].startswith("#")
    row.refresh_from_db()
    assert (row.status, row.event) == ("sent", "test")


def test_slack_text_is_escaped_as_slack_asks(
    receiver: Receiver, slack_at: Callable[[Receiver], None]
) -> None:
    slack_at(receiver)
    message = notify.Message(
        id="ntf_1",
        event="compromise",
        title="Key reported compromised: Sandbox mTLS a&b.example",
        text="Tom <b>reported</b> it & more",
        link="",
        environment="Sandbox",
    )
    notify.send_chat("slack", SLACK_URL, message, timeout=5)
    attachment = receiver.requests[0].json()["attachments"][0]
    assert attachment["text"] == "Tom &lt;b&gt;reported&lt;/b&gt; it &amp; more"
    # Bad news looks like it: Apprise's failure colour, not the information one.
    assert attachment["color"] != "#3AA3E3"


def test_teams_gets_an_adaptive_card_message_of_the_documented_shape(
    sandbox: Environment,
    make_channel: Callable[..., CreatedChannel],
    tls_receiver: Receiver,
    committed: Any,
) -> None:
    url = f"workflows://127.0.0.1:{tls_receiver.port}/643e69f83c8944438d68119179a10a64/sigABC123"
    channel = make_channel("teams", url, name="Certificates team").channel
    row = committed(notification_channel_test, actor=Actor.cli(), channel=channel)

    (arrived,) = tls_receiver.requests
    assert (
        arrived.path == "/workflows/643e69f83c8944438d68119179a10a64/triggers/manual/paths/invoke"
    )
    assert arrived.query["sig"] == ["sigABC123"]
    assert arrived.query["sv"] == ["1.0"]
    assert arrived.query["sp"] == ["/triggers/manual/run"]
    assert arrived.query["api-version"]
    payload = arrived.json()
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["version"]
    blocks = card["body"]
    assert all(block["type"] == "TextBlock" for block in blocks)
    assert blocks[0]["text"] == "Test message from certdesk (Sandbox)"
    assert "the channel “Certificates team” of Sandbox works" in blocks[1]["text"]
    row.refresh_from_db()
    assert row.status == "sent"


def test_a_teams_address_as_teams_gives_it_is_accepted_and_goes_to_its_host() -> None:
    """The address Teams shows (Logic Apps or Power Platform) is what an administrator pastes."""
    assert notify.target_problem("teams", TEAMS_NATIVE) is None
    plugin = notify._plugin(TEAMS_NATIVE)
    assert plugin is not None
    assert (plugin.host, plugin.workflow) == (  # type: ignore[attr-defined]
        "prod-161.westeurope.logic.azure.com",
        "643e69f83c8944438d68119179a10a64",
    )
    power_platform = (
        "https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations"
        "/direct/workflows/0123456789abcdef/triggers/manual/paths/invoke?api-version=1&sp=%2F"
        "triggers%2Fmanual%2Frun&sv=1.0&sig=abc"
    )
    assert notify.target_problem("teams", power_platform) is None


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("slack", "https://example.com/services/T/B/X"),
        ("slack", TEAMS_NATIVE),
        ("slack", "not a url"),
        ("teams", SLACK_URL),
        ("teams", "https://outlook.office.com/webhook/abc"),
        ("webhook", "ftp://example.com/hook"),
        ("webhook", "https://user:password@example.com/hook"),
        ("webhook", "hooks.acme.example/certdesk"),
    ],
)
def test_an_address_of_another_kind_is_refused_with_what_to_paste(kind: str, url: str) -> None:
    problem = notify.target_problem(kind, url)
    assert problem is not None
    assert url not in problem


def test_a_chat_service_that_refuses_leaves_the_reason_without_the_address(
    sandbox: Environment,
    make_channel: Callable[..., CreatedChannel],
    receiver: Receiver,
    slack_at: Callable[[Receiver], None],
) -> None:
    slack_at(receiver)
    make_channel("slack", SLACK_URL, name="#certificates")
    receiver.statuses = [404]
    from certificates.services.notifications import Event, notifications_queue

    (row,) = notifications_queue(
        [Event(environment=sandbox, event="compromise", key="c:1", title="t", text="x")]
    )
    with pytest.raises(notify.DeliveryError):
        outbound_notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == "failed"
    assert "404" in row.last_error
    assert "xoxSecretToken123" not in row.last_error


def test_a_slack_channel_unreachable_fails_within_the_timeout(
    sandbox: Environment,
    make_channel: Callable[..., CreatedChannel],
    receiver: Receiver,
    slack_at: Callable[[Receiver], None],
    settings: Any,
) -> None:
    settings.CERTDESK_NOTIFICATION_TIMEOUT_SECONDS = 0.5
    slack_at(receiver)
    receiver.hold = True
    channel = make_channel("slack", SLACK_URL, name="#certificates").channel
    row = notification_channel_test(actor=Actor.cli(), channel=channel)
    with pytest.raises(notify.DeliveryError):
        outbound_notification_deliver(notification_id=row.pk)
    assert OutboundNotification.objects.get().status == "failed"
    assert NotificationChannel.objects.get().active
