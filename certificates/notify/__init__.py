"""The sending clients of the notification channels (issue 18): Slack and Microsoft Teams through
Apprise, the generic webhook as JSON signed with HMAC-SHA256, over ``requests``.

Pure: no Django, no models (the layering contract, ``pyproject.toml``). The service
(``certificates/services/notifications/``) keeps the rules: which channel hears which event, the
outbox's discipline, the outgoing guard; this package only checks an address and delivers one
message, within a bounded time, raising :class:`DeliveryError` with a reason that names no
secret (the address of a Slack or Teams webhook is a credential: anyone holding it may post).

The webhook, for a receiver (docs/guide/notifications.md): the body is the JSON object
``{event, title, text, link, environment, timestamp, id}``; the headers
``X-Certdesk-Timestamp: <unix seconds>`` and ``X-Certdesk-Signature: sha256=<hex>``, the hex
HMAC-SHA256, under the channel's secret, of ``"<timestamp>.<body>"`` (the raw bytes of the
body). A receiver recomputes it, compares in constant time, and rejects a timestamp further than
five minutes from its clock (a replay); ``id`` is the same for every attempt at one notification,
so a receiver that keeps the ids it saw drops a repeat (:func:`verify_webhook`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import apprise
import requests
from apprise.plugins.base import NotifyBase
from apprise.plugins.slack import NotifySlack
from apprise.plugins.workflows import NotifyWorkflows

SLACK = "slack"
TEAMS = "teams"
WEBHOOK = "webhook"
KINDS = (SLACK, TEAMS, WEBHOOK)

# How far a webhook's timestamp may be from the receiver's clock (documented; verify_webhook).
WEBHOOK_TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "X-Certdesk-Signature"
TIMESTAMP_HEADER = "X-Certdesk-Timestamp"
EVENT_HEADER = "X-Certdesk-Event"
DELIVERY_HEADER = "X-Certdesk-Delivery"
USER_AGENT = "certdesk-notifications/1"

# Events that are bad news, shown as such in Slack (the attachment's colour) and Teams.
WARNING_EVENTS = frozenset({"owner_reminder"})
FAILURE_EVENTS = frozenset({"compromise", "tam_email_failed"})

_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


class NotifyError(Exception):
    """A channel's address is not usable, or a delivery failed; ``message`` names no secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TargetError(NotifyError):
    """The address typed for a channel is not one of its kind."""


class DeliveryError(NotifyError):
    """The service did not take the message (a network error, a timeout, an HTTP error): a
    later attempt may succeed, so the outbox retries it with backoff."""


@dataclass(frozen=True)
class Message:
    """One notification as it leaves certdesk: never key material (the service checked)."""

    id: str
    event: str
    title: str
    text: str
    link: str
    environment: str


def without_urls(text: str) -> str:
    """``text`` with every URL in it reduced to its scheme and host (an error message may quote
    the address it failed on, and a webhook address is a credential)."""
    return _URL.sub(lambda match: mask(match.group()), text)


def mask(url: str) -> str:
    """What a page shows of a channel's address: "https://hooks.slack.com/…"."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "…"
    if not parts.scheme or not host:
        return "…"
    return f"{parts.scheme}://{host}/…"


def new_secret() -> str:
    """A webhook channel's signing secret: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


# --- addresses -------------------------------------------------------------------------------


def _asset() -> apprise.AppriseAsset:
    # Nothing written to disk (Apprise's persistent store), no image links in the messages.
    return apprise.AppriseAsset(
        storage_mode="memory", app_id="certdesk", app_desc="certdesk notifications"
    )


def _plugin(url: str) -> NotifyBase | None:
    try:
        return apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)
    except Exception:  # an address Apprise chokes on is simply not one
        return None


def target_problem(kind: str, url: str) -> str | None:
    """None when ``url`` is an address of a ``kind`` channel; otherwise what to type instead."""
    url = url.strip()
    if not url:
        return "Paste the channel's address."
    if any(character.isspace() for character in url):
        return "The address contains a space or a line break; paste it again on one line."
    if kind == SLACK:
        if isinstance(_plugin(url), NotifySlack):
            return None
        return (
            "This is not a Slack incoming webhook address: in Slack, add the “Incoming "
            "Webhooks” app to the channel and paste the address it gives, "
            "https://hooks.slack.com/services/T…/B…/… (or a slack:// address of Apprise)."
        )
    if kind == TEAMS:
        if isinstance(_plugin(url), NotifyWorkflows):
            return None
        return (
            "This is not a Microsoft Teams workflow address: in Teams, add the workflow “Post to "
            "a channel when a webhook request is received” and paste the address it gives, "
            "https://….logic.azure.com/workflows/… or https://….powerplatform.com/… (or a "
            "workflows:// address of Apprise). Office 365 connectors are retired by Microsoft."
        )
    if kind == WEBHOOK:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            host = None
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            return "The webhook address must be an http:// or https:// URL, such as " + (
                "https://hooks.example.com/certdesk."
            )
        if parts.username or parts.password:
            return (
                "Put no user name or password in the webhook address: certdesk signs each "
                "request instead (X-Certdesk-Signature)."
            )
        return None
    return f"Unknown kind of channel: {kind}."


# --- sending ---------------------------------------------------------------------------------


def _notify_type(event: str) -> apprise.NotifyType:
    if event in FAILURE_EVENTS:
        return apprise.NotifyType.FAILURE
    if event in WARNING_EVENTS:
        return apprise.NotifyType.WARNING
    return apprise.NotifyType.INFO


def chat_body(message: Message) -> str:
    """The text a chat room shows under the title: the text, then the link."""
    return f"{message.text}\n\n{message.link}" if message.link else message.text


def send_chat(kind: str, url: str, message: Message, *, timeout: float) -> None:
    """Post ``message`` to a Slack or Teams channel through Apprise, within ``timeout`` seconds
    to connect and as many to read the answer; :class:`DeliveryError` when it did not arrive."""
    plugin = _plugin(url.strip())
    if not isinstance(plugin, (NotifySlack, NotifyWorkflows)) or (
        isinstance(plugin, NotifySlack) != (kind == SLACK)
    ):
        raise DeliveryError(
            f"The stored address is not a {kind} address any more; replace it in the settings."
        )
    plugin.socket_connect_timeout = timeout
    plugin.socket_read_timeout = timeout
    plugin.include_image = False
    if isinstance(plugin, NotifySlack):
        plugin.include_footer = False  # Slack's footer would only say who posted: certdesk
    capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
    with capture as captured:
        try:
            delivered = plugin.notify(
                body=chat_body(message),
                title=message.title,
                notify_type=_notify_type(message.event),
            )
        except Exception as error:
            raise DeliveryError(without_urls(f"{type(error).__name__}: {error}")[:500]) from None
    if not delivered:
        said = " ".join(str(captured.getvalue()).split())
        raise DeliveryError(
            without_urls(said or f"The {kind} service did not take the message.")[:500]
        )


def webhook_body(message: Message, *, timestamp: int) -> bytes:
    """The JSON body of a webhook request, as signed: compact, UTF-8."""
    return json.dumps(
        {
            "event": message.event,
            "title": message.title,
            "text": message.text,
            "link": message.link,
            "environment": message.environment,
            "timestamp": timestamp,
            "id": message.id,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def webhook_signature(secret: str, *, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 under ``secret`` of ``b"<timestamp>." + body``."""
    digest = hmac.new(
        secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"sha256={digest}"


def verify_webhook(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float,
    tolerance: int = WEBHOOK_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does (documented; the tests receive with it): the timestamp is a whole
    number within ``tolerance`` seconds of ``now``, and the signature matches, compared in
    constant time."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = webhook_signature(secret, timestamp=int(timestamp), body=body)
    return hmac.compare_digest(expected, signature)


def send_webhook(url: str, secret: str, message: Message, *, timeout: float, now: float) -> None:
    """POST the signed JSON body to ``url``; a 2xx answer is delivered, anything else (a
    redirect included: a signed POST is not followed elsewhere) a :class:`DeliveryError`."""
    timestamp = int(now)
    body = webhook_body(message, timestamp=timestamp)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature(secret, timestamp=timestamp, body=body),
        EVENT_HEADER: message.event,
        DELIVERY_HEADER: message.id,
    }
    try:
        answer = requests.post(
            url.strip(),
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise DeliveryError(without_urls(f"{type(error).__name__}: {error}")[:500]) from None
    if not 200 <= answer.status_code < 300:
        raise DeliveryError(
            f"The webhook answered HTTP {answer.status_code} {answer.reason or ''}".strip()[:500]
        )
