"""A real Celery worker killed (SIGKILL) while its webhook request is in flight (issue 18).

The receiver holds the request, so the worker is caught mid-send: it has claimed the row and the
receiver has the body, but no answer came back. What must follow: the row says ``sending``, so a
second task for it (Redis handing the unacknowledged message out again, or a publish twice)
sends nothing while a live worker could still hold it; once the hard time limit has passed,
beat's requeue pass sends it again, once, with the same delivery id, which a receiver keeping
the ids it saw (the documented recipe) drops. No request is lost, none is taken twice.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.utils import timezone

from certificates.models import AuditEvent, OutboundNotification
from certificates.outbox_policy import NOTIFY_TASK
from certificates.services.notifications import CreatedChannel
from certificates.services.notifications.delivery import (
    outbound_notification_deliver,
    outbound_notifications_requeue,
)
from tests.notifications.test_receiver_recipe import _recipe
from tests.support.receiver import Receiver
from tests.support.workers import celery_worker, the_test_database_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
# A bound for a process of this machine, not a measurement: the worker starts in a few seconds.
ARRIVAL_SECONDS = 60


@pytest.fixture
def worker(postgres: None, redis_url: str, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """``celery -A config worker`` on a queue of its own, against the test database."""
    queue = f"certdesk-kill-{uuid.uuid4().hex[:8]}"
    variables = {
        "DATABASE_URL": the_test_database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url,
        # Longer than the receiver holds a request: the worker is still waiting when killed.
        "CERTDESK_NOTIFICATION_TIMEOUT_SECONDS": "60",
    }
    with celery_worker(queue=queue, var_dir=tmp_path, variables=variables) as process:
        yield queue, process


def _until_arrived(receiver: Receiver, process: subprocess.Popen[bytes], count: int) -> None:
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while len(receiver.requests) < count and time.monotonic() < deadline:
        try:
            process.wait(timeout=0.2)  # returns at once if the worker died on its own
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the worker exited with {process.returncode} before the request arrived")
    assert len(receiver.requests) == count, "the worker never made its request"


def test_a_worker_killed_mid_send_is_delivered_once_to_a_receiver_that_keeps_ids(
    webhook: CreatedChannel,
    receiver: Receiver,
    redis_url: str,
    worker: tuple[str, subprocess.Popen[bytes]],
) -> None:
    queue, process = worker
    receiver.hold = True
    row = OutboundNotification.objects.create(
        channel=webhook.channel,
        event="compromise",
        event_key="compromise:killed-worker",
        title="Key compromise reported: api.acme.com (Sandbox, mTLS)",
        text="Revoke it with the TAM now.",
    )
    # Not made the current app: the requeue below must publish through the suite's (eager) one.
    client = Celery(broker=redis_url, set_as_current=False)
    client.send_task(NOTIFY_TASK, args=(row.pk,), queue=queue)
    _until_arrived(receiver, process, 1)

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    receiver.hold = False
    receiver.released.set()
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sending", 1)

    # The message the dead worker never acknowledged, handed out again: not sent a second time.
    assert outbound_notification_deliver(notification_id=row.pk) == "not claimed"
    assert outbound_notifications_requeue().stuck == []
    assert len(receiver.requests) == 1

    # Past the hard time limit no live worker can hold it: beat's pass sends it, once.
    later = timezone.now() + timedelta(seconds=301)
    assert outbound_notifications_requeue(now=later).stuck == [row.pk]
    assert outbound_notifications_requeue(now=later).published == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert AuditEvent.objects.filter(action="notification.requeued").count() == 1

    first, second = receiver.requests
    assert first.json()["id"] == second.json()["id"] == second.headers["X-Certdesk-Delivery"]
    verified, seen = _recipe(), set[str]()
    kept = [r for r in receiver.requests if verified(webhook.secret, r.headers, r.body, seen)]
    assert kept == [first]
