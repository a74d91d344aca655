"""The generic webhook against a local receiver (issue 18): the signed JSON body, the signature
verified with the secret shown once, the timestamp against replay; exactly one delivery after a
worker killed mid-send, retries with the emails' backoff and bound, bounded timeouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from celery.exceptions import Retry

from certificates import notify, services
from certificates.models import AuditEvent, Environment, OutboundNotification
from certificates.outbox_policy import MAX_ATTEMPTS
from certificates.services import Actor
from certificates.services.notifications import (
    CreatedChannel,
    Event,
    notifications_queue,
    outbound_notification_claim,
    outbound_notification_deliver,
    outbound_notifications_requeue,
)
from certificates.services.notifications.delivery import delivery_id
from certificates.tasks import outbox_requeue, send_outbound_notification
from tests.support.receiver import Receiver
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
PAST_TIME_LIMIT = timedelta(seconds=301)


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _event(environment: Environment, key: str = "test:1", **kwargs: str) -> Event:
    return Event(
        environment=environment,
        event=kwargs.pop("event", "certificate_installed"),
        key=key,
        title=kwargs.pop("title", "Certificate installed: Sandbox mTLS acme.com"),
        text=kwargs.pop("text", "admin installed it."),
        link=kwargs.pop("link", "https://certdesk.example.com/certificates/1/"),
    )


def _queue(environment: Environment, key: str = "test:1") -> OutboundNotification:
    """A row queued but not sent (no commit runs its task)."""
    (row,) = notifications_queue([_event(environment, key)])
    return row


def test_an_installed_certificate_reaches_the_webhook_signed_with_the_secret_shown_once(
    sandbox: Environment,
    webhook: CreatedChannel,
    receiver: Receiver,
    issue: Callable[..., bytes],
    committed: Callable[..., Any],
    frozen: Any,
) -> None:
    """The whole path: the upload commits, its row is published, the task posts the JSON
    body {event, title, text, link, environment, timestamp, id} with X-Certdesk-Timestamp and
    X-Certdesk-Signature, which the receiver verifies with the secret it was given."""
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    certificate = committed(
        services.certificate_upload, actor=Actor.cli(), data=issue(request)
    ).certificate

    assert len(receiver.requests) == 1
    arrived = receiver.requests[0]
    assert arrived.path == "/certdesk/hook"
    assert arrived.headers["Content-Type"] == "application/json; charset=utf-8"
    timestamp = arrived.headers["X-Certdesk-Timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    assert notify.verify_webhook(
        webhook.secret,
        timestamp=timestamp,
        body=arrived.body,
        signature=arrived.headers["X-Certdesk-Signature"],
        now=NOW.timestamp(),
    )
    body = arrived.json()
    assert set(body) == {"event", "title", "text", "link", "environment", "timestamp", "id"}
    assert body["event"] == "certificate_installed"
    assert body["environment"] == "Sandbox"
    assert body["timestamp"] == int(timestamp)
    assert body["title"] == "Certificate installed: Sandbox mTLS acme.com"
    assert certificate.serial in body["text"]
    assert body["link"] == f"https://certdesk.example.com/certificates/{certificate.pk}/"
    row = OutboundNotification.objects.get()
    assert body["id"] == delivery_id(row) == arrived.headers["X-Certdesk-Delivery"]
    assert arrived.headers["X-Certdesk-Event"] == "certificate_installed"
    assert (row.status, row.attempts, row.event_key) == ("sent", 1, f"installed:{certificate.pk}")
    assert row.sent_at == NOW


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """The documented recipe, computed independently of certdesk's helper."""
    import hashlib
    import hmac

    message = notify.Message(
        id="ntf_1", event="test", title="t", text="x", link="", environment="Sandbox"
    )
    body = notify.webhook_body(message, timestamp=1700000000)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert notify.webhook_signature("s3cret", timestamp=1700000000, body=body) == (
        f"sha256={expected}"
    )
    assert json.loads(body)["timestamp"] == 1700000000


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        ("nothing", True),
        ("body", False),
        ("secret", False),
        ("timestamp 6 minutes old", False),
        ("timestamp 6 minutes ahead", False),
        ("timestamp 4 minutes old", True),
        ("timestamp not a number", False),
    ],
)
def test_a_receiver_rejects_a_changed_body_another_secret_and_old_timestamps(
    change: str, accepted: bool
) -> None:
    message = notify.Message(
        id="ntf_1", event="test", title="t", text="x", link="", environment="Sandbox"
    )
    sent_at = 1_900_000_000
    body = notify.webhook_body(message, timestamp=sent_at)
    signature = notify.webhook_signature("right", timestamp=sent_at, body=body)
    secret, now, stamp = "right", float(sent_at), str(sent_at)
    if change == "body":
        body = body.replace(b'"x"', b'"y"')
    elif change == "secret":
        secret = "wrong"
    elif change == "timestamp 6 minutes old":
        now = sent_at + 360.0
    elif change == "timestamp 6 minutes ahead":
        now = sent_at - 360.0
    elif change == "timestamp 4 minutes old":
        now = sent_at + 240.0
    elif change == "timestamp not a number":
        stamp = "1e9"
    assert (
        notify.verify_webhook(secret, timestamp=stamp, body=body, signature=signature, now=now)
        is accepted
    )


def test_a_worker_killed_between_claim_and_send_delivers_once_after_the_time_limit(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, frozen: Any
) -> None:
    """The row stays "sending"; before the hard time limit nobody touches it (a live worker
    may hold it: a second task does not claim it), after it beat's pass queues it again and it
    arrives once, attempts 2, the requeue audited."""
    row = _queue(sandbox)
    assert outbound_notification_claim(notification_id=row.pk) is not None  # ... and it dies

    frozen.shift(timedelta(seconds=299))
    assert outbound_notifications_requeue().stuck == []
    assert outbound_notification_deliver(notification_id=row.pk) == "not claimed"
    assert receiver.requests == []

    frozen.shift(timedelta(seconds=2))
    done = outbound_notifications_requeue()
    assert (done.stuck, done.published) == ([row.pk], [row.pk])
    assert len(receiver.requests) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert AuditEvent.objects.filter(action="notification.requeued").count() == 1
    # Nothing left to do: the next passes publish nothing, nothing arrives again.
    frozen.shift(timedelta(hours=2))
    assert outbound_notifications_requeue().published == []
    assert len(receiver.requests) == 1


def test_a_worker_killed_after_the_receiver_took_it_repeats_the_same_id(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, frozen: Any
) -> None:
    """The narrow case of at-least-once: the receiver had it when the worker died. The copy
    carries the same id (body and X-Certdesk-Delivery), which a receiver drops."""
    row = _queue(sandbox)
    claimed = outbound_notification_claim(notification_id=row.pk)
    assert claimed is not None
    # The request the dead worker made (what _send does), then no "sent".
    notify.send_webhook(
        f"{receiver.url}/certdesk/hook",
        webhook.secret,
        notify.Message(
            id=delivery_id(claimed),
            event=claimed.event,
            title=claimed.title,
            text=claimed.text,
            link=claimed.link,
            environment="Sandbox",
        ),
        timeout=5,
        now=NOW.timestamp(),
    )
    frozen.shift(PAST_TIME_LIMIT)
    outbound_notifications_requeue()
    assert len(receiver.requests) == 2
    first, second = (r.json() for r in receiver.requests)
    assert first["id"] == second["id"]
    seen = {r.headers["X-Certdesk-Delivery"] for r in receiver.requests}
    assert seen == {first["id"]}


def test_one_row_per_event_and_channel_however_often_the_event_is_queued(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, committed: Any
) -> None:
    """The unique (channel, event key): a second queue of the same event stores nothing and
    sends nothing; a second task for the same row does not send it again."""
    committed(notifications_queue, [_event(sandbox, "installed:7")])
    assert committed(notifications_queue, [_event(sandbox, "installed:7")]) == []
    row = OutboundNotification.objects.get()
    assert send_outbound_notification.apply(args=(row.pk,)).get() == "not claimed"
    assert len(receiver.requests) == 1


def test_a_refusing_receiver_is_retried_with_backoff_until_it_takes_it(
    sandbox: Environment,
    webhook: CreatedChannel,
    receiver: Receiver,
    committed: Any,
    eager_retries: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """500 twice, then 200: three requests with the same id, the row sent after 3 attempts;
    each retry waited the emails' delay (tasks.retry_delay)."""
    from certificates import tasks

    delays: list[int] = []

    def delay(retries: int) -> float:
        delays.append(retries)
        return 15.0

    monkeypatch.setattr(tasks, "retry_delay", delay)
    receiver.statuses = [500, 500]
    committed(notifications_queue, [_event(sandbox)])
    row = OutboundNotification.objects.get()
    assert (row.status, row.attempts) == ("sent", 3)
    assert delays == [0, 1]
    assert len({r.json()["id"] for r in receiver.requests}) == 1
    assert len(receiver.requests) == 3


def test_the_send_task_retries_a_delivery_error_and_gives_up_past_the_bound(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, frozen: Any
) -> None:
    """A failure raises Retry with a countdown; past MAX_ATTEMPTS in all the row stays
    failed for good, no pass publishes it again, and the last error says why."""
    receiver.statuses = [503] * (MAX_ATTEMPTS + 5)
    row = _queue(sandbox)
    with pytest.raises(Retry):
        send_outbound_notification.apply(args=(row.pk,), throw=True)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "The webhook answered HTTP 503 Service Unavailable"
    OutboundNotification.objects.filter(pk=row.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert outbound_notification_deliver(notification_id=row.pk) == "failed"
    frozen.shift(timedelta(days=1))
    assert outbound_notifications_requeue().published == []
    assert outbound_notification_claim(notification_id=row.pk) is None


def test_failed_rows_whose_retries_ran_out_are_retried_by_beat_after_the_longest_backoff(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, frozen: Any
) -> None:
    receiver.statuses = [502]
    row = _queue(sandbox)
    with pytest.raises(notify.DeliveryError):
        outbound_notification_deliver(notification_id=row.pk)
    frozen.shift(timedelta(minutes=30))
    assert outbound_notifications_requeue().retried == []
    frozen.shift(timedelta(minutes=6))  # past 30 min of backoff + the 5 min time limit
    assert outbound_notifications_requeue().retried == [row.pk]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_row_whose_task_the_broker_lost_is_sent_by_the_outbox_requeue_task(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, frozen: Any
) -> None:
    """Beat's existing pass (tasks.outbox_requeue) publishes a row queued for more than one
    period and never attempted; within five periods it does not publish it again."""
    row = _queue(sandbox)
    frozen.shift(timedelta(seconds=30))
    assert outbox_requeue() == {"published": 0, "waiting": 0}
    frozen.shift(timedelta(seconds=31))
    assert outbox_requeue() == {
        "published": 0,
        "waiting": 0,
        "notifications_published": 1,
    }
    assert len(receiver.requests) == 1
    row.refresh_from_db()
    assert row.status == "sent"


def test_a_broker_that_cannot_take_the_task_leaves_the_row_queued_with_a_note(
    sandbox: Environment,
    webhook: CreatedChannel,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    frozen: Any,
) -> None:
    from certificates.services.notifications import outbound_notification_publish
    from config.celery import app

    row = _queue(sandbox)

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr("celery.canvas.Signature.apply_async", refuse)
    app.conf.task_always_eager = False
    try:
        assert outbound_notification_publish(notification_id=row.pk) is False
        row.refresh_from_db()
        assert row.status == "queued"
        assert row.last_error.startswith("Waiting for the task queue")
        frozen.shift(timedelta(minutes=2))
        done = outbound_notifications_requeue()
    finally:
        app.conf.task_always_eager = True
    assert (done.published, done.waiting) == ([], [row.pk])
    assert receiver.requests == []


def test_a_receiver_that_never_answers_fails_within_the_timeout(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, settings: Any
) -> None:
    """CERTDESK_NOTIFICATION_TIMEOUT_SECONDS bounds the wait; the row is failed, retried later."""
    settings.CERTDESK_NOTIFICATION_TIMEOUT_SECONDS = 0.5
    receiver.hold = True
    row = _queue(sandbox)
    with pytest.raises(notify.DeliveryError, match="ReadTimeout"):
        outbound_notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == "failed"
    assert "127.0.0.1" in row.last_error  # the host only: the path is masked
    assert "/certdesk/hook" not in row.last_error


def test_a_redirect_is_not_followed_and_fails(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver
) -> None:
    receiver.statuses = [307]
    row = _queue(sandbox)
    with pytest.raises(notify.DeliveryError, match="HTTP 307"):
        outbound_notification_deliver(notification_id=row.pk)
    assert len(receiver.requests) == 1
