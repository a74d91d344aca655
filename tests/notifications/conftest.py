"""Fixtures of the notification tests: local receivers on loopback, channels of each kind
pointed at them, and a way to run what a commit publishes (the suite's Celery is eager)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apprise.plugins.slack import NotifySlack
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates.models import Environment, NotificationChannel
from certificates.services import Actor
from certificates.services.notifications import CreatedChannel, notification_channel_create
from tests.support.receiver import Receiver, start_receiver

ALL_EVENTS = [
    "owner_reminder",
    "compromise",
    "revocation_confirmed",
    "tam_email_failed",
    "certificate_installed",
]
SLACK_URL = "https://hooks.slack.com/services/T0CERTDESK/B0CERTDESK/xoxSecretToken123"


@pytest.fixture(autouse=True)
def _notification_settings(settings: Any) -> None:
    settings.CERTDESK_SITE_URL = "https://certdesk.example.com"
    settings.CELERY_TASK_TIME_LIMIT = 300
    settings.CERTDESK_OUTBOX_REQUEUE_SECONDS = 60
    settings.CERTDESK_NOTIFICATION_TIMEOUT_SECONDS = 5.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = start_receiver()
    yield server
    server.close()


@pytest.fixture
def tls_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """An HTTPS receiver that requests (hence Apprise) trusts, as it would a real service."""
    server = start_receiver(tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)
    yield server
    server.close()


@pytest.fixture
def make_channel(sandbox: Environment) -> Callable[..., CreatedChannel]:
    def make(
        kind: str,
        url: str,
        *,
        name: str = "",
        events: list[str] | None = None,
        environment: Environment | None = None,
    ) -> CreatedChannel:
        return notification_channel_create(
            actor=Actor.cli(),
            environment=environment or sandbox,
            kind=kind,
            name=name or f"{kind} {NotificationChannel.objects.count()}",
            url=url,
            events=ALL_EVENTS if events is None else events,
        )

    return make


@pytest.fixture
def webhook(make_channel: Callable[..., CreatedChannel], receiver: Receiver) -> CreatedChannel:
    """A webhook channel of Sandbox, listening to every event, pointed at the receiver."""
    return make_channel("webhook", f"{receiver.url}/certdesk/hook", name="ops webhook")


@pytest.fixture
def slack_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[Receiver], None]:
    """Point Apprise's Slack plugin at a receiver instead of hooks.slack.com (the path after
    /services stays the channel's: /services/T…/B…/…)."""

    def point(server: Receiver) -> None:
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{server.url}/services")

    return point


@pytest.fixture
def committed(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Callable[..., Any]:
    """Run ``call`` and then what its commit publishes (each send task runs in place)."""

    def run(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def eager_retries() -> Iterator[None]:
    """Let eagerly run tasks retry as a worker would (no countdown is waited for)."""
    from config.celery import app

    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = before
