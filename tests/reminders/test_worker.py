"""End to end on the real services: beat's task through Redis to a real Celery worker, which
scans, queues through the outbox and delivers to a real SMTP listener on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis as redis_lib
from celery import Celery
from django.utils import timezone

from certificates.models import OutboundEmail, Reminder
from tests.support.environments import migrated_environment
from tests.support.reminders import OWNERS, TAM, add_owners, make_certificate
from tests.support.smtp import SMTPListener
from tests.support.workers import celery_worker, the_test_database_url

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
# The worker's tasks go to Celery's default queue, on the Redis database REDIS_URL names.
QUEUE = "celery"


@pytest.fixture
def smtp() -> Iterator[SMTPListener]:
    with SMTPListener() as listener:
        yield listener


@pytest.fixture
def worker(
    transactional_db: None, postgres: None, redis_url: str, smtp: SMTPListener, tmp_path: Path
) -> Iterator[None]:
    """``celery -A config worker`` on the test database, the real Redis and the listener;
    stopped before the test database is emptied."""
    redis_lib.Redis.from_url(redis_url).delete(QUEUE)  # nothing left over from an earlier run
    variables = {
        "DATABASE_URL": the_test_database_url(),
        "CELERY_BROKER_URL": redis_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "CERTDESK_SITE_URL": "https://certdesk.example.com",
        "CONN_MAX_AGE": "0",
    }
    with celery_worker(queue=QUEUE, var_dir=tmp_path, variables=variables):
        yield


def test_a_real_worker_on_redis_runs_the_scan_and_delivers_the_reminders(
    worker: None, smtp: SMTPListener, redis_url: str
) -> None:
    """The beat task sent through Redis makes the worker email the TAM and the owners through
    SMTP; the outbox rows end ``sent`` with one attempt, the reminders ``sent``."""
    sandbox = migrated_environment("Sandbox")
    add_owners(sandbox)
    certificate = make_certificate(sandbox, not_after=timezone.now() + timedelta(days=10))

    Celery(broker=redis_url, set_as_current=False).send_task(
        "certificates.tasks.expiry_scan", queue=QUEUE
    )
    assert smtp.wait_for(2, timeout=90), "the worker delivered nothing within 90 s"

    by_to = {message["To"]: message for message in smtp.messages}
    assert set(by_to) == {TAM, ", ".join(OWNERS)}
    assert by_to[", ".join(OWNERS)]["Subject"] == (
        "Treezor Sandbox mTLS certificate expires in 9 days"
    )
    # The worker marks the rows right after the server accepted: wait for that commit too.
    done = threading.Event()
    for _ in range(300):
        if OutboundEmail.objects.filter(status="sent").count() == 2:
            break
        done.wait(0.1)
    for email in OutboundEmail.objects.all():
        assert (email.status, email.attempts) == ("sent", 1)
        assert by_to[", ".join(email.to)]["Message-ID"].strip() == email.message_id
    sent = Reminder.objects.filter(certificate=certificate, status="sent")
    assert sorted((r.kind, r.threshold_days) for r in sent) == [("owner", 14), ("tam_renewal", 30)]
