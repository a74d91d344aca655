"""Fixtures of the reminder tests: an environment with owners, a frozen clock, the scan, and a
real SMTP listener on loopback (the row builders are in tests/support/reminders.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import crypto
from certificates.models import Environment
from certificates.services.reminders import ScanReport, expiry_scan
from tests.support.reminders import NOW, add_owners
from tests.support.smtp import SMTPListener
from tests.support.subjects import ACME


@pytest.fixture(autouse=True)
def _reminder_settings(settings: Any) -> None:
    """The documented defaults, whatever the environment running the tests sets."""
    settings.CERTDESK_RENEWAL_LEAD_DAYS = 30
    settings.CERTDESK_REMINDER_DAYS = [30, 14, 7, 3, 1, 0]
    settings.CERTDESK_SITE_URL = "https://certdesk.example.com"
    settings.CELERY_TASK_TIME_LIMIT = 300


@pytest.fixture(scope="session")
def renewal_csr_pem() -> str:
    """One real CSR (its key thrown away), attached to renewal emails like a real one."""
    key = crypto.generate_private_key()
    return crypto.csr_to_pem(crypto.build_csr(key, ACME)).decode("ascii")


@pytest.fixture
def owned_sandbox(sandbox: Environment) -> Environment:
    add_owners(sandbox)
    return sandbox


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """The clock stopped at NOW; tests move it with ``frozen.move_to``."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def scan(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Callable[..., ScanReport]:
    """Run the scan and let its commits queue (and, eagerly, send) the emails."""

    def run(**kwargs: Any) -> ScanReport:
        with django_capture_on_commit_callbacks(execute=True):
            return expiry_scan(**kwargs)

    return run


@pytest.fixture
def eager_retries() -> Iterator[None]:
    """Let eagerly run tasks retry as a worker would (the suite propagates errors at once).

    Celery runs an eager retry straight away, with no countdown: the backoff is not waited for.
    """
    from config.celery import app

    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = before


@pytest.fixture
def smtp_settings(settings: Any) -> Callable[[SMTPListener], None]:
    """Point Django's real SMTP backend (behind the outgoing guard) at a listener."""

    def point(listener: SMTPListener) -> None:
        settings.CERTDESK_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = listener.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10

    return point
