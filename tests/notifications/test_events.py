"""The events that reach the channels (issue 18), each queued by the service that makes it, in
its transaction: owner reminders, a compromise report, a revocation confirmed, a TAM email that
finally failed, a certificate installed; and the outgoing guard on their way out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from smtplib import SMTPServerDisconnected
from typing import Any

import pytest
import time_machine
from django.db import transaction

from certificates import crypto, emails, services
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    OutboundEmail,
    OutboundNotification,
    Reminder,
)
from certificates.outbox_policy import MAX_ATTEMPTS
from certificates.services import Actor
from certificates.services.notifications import (
    CreatedChannel,
    Event,
    notifications_queue,
    outbound_notification_deliver,
)
from certificates.services.outbox import outbound_email_deliver, outbound_email_queue
from certificates.services.reminders import expiry_scan
from certificates.services.revocations import revocation_confirm, revocation_report_compromise
from tests.support.receiver import Receiver
from tests.support.reminders import DAY, NOW, add_owners, make_certificate
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


@pytest.fixture
def installed(sandbox: Environment, issue: Callable[..., bytes]) -> Certificate:
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    return services.certificate_upload(actor=Actor.cli(), data=issue(request)).certificate


def _rows(event: str | None = None) -> list[OutboundNotification]:
    rows = OutboundNotification.objects.order_by("pk")
    return list(rows.filter(event=event) if event else rows)


def test_owner_reminders_of_the_scan_reach_the_channels_that_listen(
    sandbox: Environment, make_channel: Callable[..., CreatedChannel]
) -> None:
    """One message per owners' reminder (not per TAM email), keyed by the reminder: a second
    scan adds nothing."""
    add_owners(sandbox)
    listening = make_channel("webhook", "https://hooks.acme.example/r", events=["owner_reminder"])
    make_channel("webhook", "https://hooks.acme.example/c", events=["compromise"])
    with time_machine.travel(NOW, tick=False):
        certificate = make_certificate(sandbox, not_after=NOW + 7 * DAY, common_name="api.acme.com")
        expiry_scan()
        expiry_scan()
    (row,) = _rows()
    reminder = Reminder.objects.get(kind="owner", status="sending")
    assert (row.channel_id, row.event, row.event_key) == (
        listening.channel.pk,
        "owner_reminder",
        f"reminder:{reminder.pk}",
    )
    assert row.title == "Certificate expires in 7 days: Sandbox mTLS api.acme.com"
    assert certificate.serial in row.text
    assert row.link == f"https://certdesk.example.com/certificates/{certificate.pk}/"


def test_a_compromise_report_and_its_confirmed_revocation_reach_the_channels(
    sandbox: Environment, installed: Certificate, make_channel: Callable[..., CreatedChannel]
) -> None:
    make_channel("webhook", "https://hooks.acme.example/x")
    revocation = revocation_report_compromise(
        actor=Actor.cli(), certificate=installed, suspected_since=date.today() - timedelta(days=1)
    )
    (compromise,) = _rows("compromise")
    assert compromise.event_key == f"compromise:{revocation.pk}"
    assert compromise.title == "Key reported compromised: Sandbox mTLS acme.com"
    assert "certdesk emailed the TAM to revoke it" in compromise.text
    revocation_confirm(actor=Actor.cli(), revocation=revocation, confirmed_on=date.today())
    (confirmed,) = _rows("revocation_confirmed")
    assert confirmed.event_key == f"revoked:{revocation.pk}"
    assert confirmed.title == "Revocation confirmed: Sandbox mTLS acme.com"


def test_an_installed_certificate_names_the_one_it_replaces(
    sandbox: Environment,
    installed: Certificate,
    issue: Callable[..., bytes],
    make_channel: Callable[..., CreatedChannel],
) -> None:
    make_channel("webhook", "https://hooks.acme.example/x", events=["certificate_installed"])
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    second = services.certificate_upload(
        actor=Actor.cli(), data=issue(request), replace=True
    ).certificate
    (row,) = _rows("certificate_installed")
    assert row.event_key == f"installed:{second.pk}"
    assert f"It replaces certificate #{installed.pk} (serial {installed.serial})." in row.text


@pytest.mark.parametrize("ending", ["given up", "refused"])
def test_a_tam_email_that_finally_failed_reaches_the_channels(
    sandbox: Environment,
    installed: Certificate,
    make_channel: Callable[..., CreatedChannel],
    monkeypatch: pytest.MonkeyPatch,
    ending: str,
) -> None:
    """Given up after MAX_ATTEMPTS, or refused by the guard at sending: a message naming the
    email by its subject and recipients; an email that only failed once says nothing yet."""
    make_channel("webhook", "https://hooks.acme.example/x", events=["tam_email_failed"])
    email = outbound_email_queue(
        actor=Actor.cli(),
        kind=OutboundEmail.Kind.TAM_REVOCATION,
        composed=emails.ComposedEmail(
            to=["tam@treezor.example"], subject="Revocation please", body_text="x", body_html=""
        ),
        environment=sandbox,
        certificate=installed,
    )

    class Refusing:
        def send_messages(self, messages: object) -> None:
            raise SMTPServerDisconnected("the server hung up")

    monkeypatch.setattr("certificates.services.outbox.get_connection", lambda: Refusing())
    if ending == "given up":
        with pytest.raises(SMTPServerDisconnected):
            outbound_email_deliver(email_id=email.pk)
        assert _rows() == []
        OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS - 1)
        assert outbound_email_deliver(email_id=email.pk) == "failed"
    else:
        key = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
        OutboundEmail.objects.filter(pk=email.pk).update(body_text=key)
        assert outbound_email_deliver(email_id=email.pk) == "refused"
    (row,) = _rows("tam_email_failed")
    assert row.event_key == f"email-failed:{email.pk}"
    assert "“Revocation please” to tam@treezor.example" in row.text
    assert row.link == f"https://certdesk.example.com/certificates/{installed.pk}/"
    assert "BEGIN" not in row.text
    assert row.status == "queued"


def test_a_reminder_email_that_failed_is_no_tam_email(
    sandbox: Environment, make_channel: Callable[..., CreatedChannel], monkeypatch: Any
) -> None:
    make_channel("webhook", "https://hooks.acme.example/x")
    email = outbound_email_queue(
        actor=Actor.cli(),
        kind=OutboundEmail.Kind.REMINDER,
        composed=emails.ComposedEmail(
            to=["a@acme.example"], subject="s", body_text="x", body_html=""
        ),
        environment=sandbox,
    )
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS - 1)

    class Refusing:
        def send_messages(self, messages: object) -> None:
            raise SMTPServerDisconnected("down")

    monkeypatch.setattr("certificates.services.outbox.get_connection", lambda: Refusing())
    assert outbound_email_deliver(email_id=email.pk) == "failed"
    assert _rows() == []


def test_rows_stand_or_fall_with_the_event_transaction(
    sandbox: Environment, make_channel: Callable[..., CreatedChannel]
) -> None:
    make_channel("webhook", "https://hooks.acme.example/x")

    def event_then_failure() -> None:
        with transaction.atomic():
            notifications_queue(
                [Event(environment=sandbox, event="compromise", key="c:1", title="t", text="x")]
            )
            raise RuntimeError("the event failed after queueing")

    with pytest.raises(RuntimeError):
        event_then_failure()
    assert _rows() == []


def test_text_carrying_key_material_is_refused_stored_withheld_and_audited(
    sandbox: Environment,
    make_channel: Callable[..., CreatedChannel],
    receiver: Receiver,
    committed: Any,
) -> None:
    make_channel("webhook", f"{receiver.url}/hook")
    key = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
    (row,) = committed(
        notifications_queue,
        [Event(environment=sandbox, event="compromise", key="c:1", title="t", text=f"oops {key}")],
    )
    row.refresh_from_db()
    assert row.status == "refused"
    assert "PRIVATE KEY" not in row.title + row.text
    assert row.text == "(withheld: it carried private-key material)"
    assert receiver.requests == []
    (event,) = AuditEvent.objects.filter(action="notification.refused")
    assert event.details == {"channel": row.channel.name, "event": "compromise", "key": "c:1"}
    assert outbound_notification_deliver(notification_id=row.pk) == "not claimed"


def test_the_guard_checks_again_at_sending(
    sandbox: Environment, make_channel: Callable[..., CreatedChannel], receiver: Receiver
) -> None:
    """A row whose text changed in the database after it was queued is refused by the worker,
    recorded, and never sent."""
    make_channel("webhook", f"{receiver.url}/hook")
    (row,) = notifications_queue(
        [Event(environment=sandbox, event="compromise", key="c:1", title="t", text="x")]
    )
    key = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
    OutboundNotification.objects.filter(pk=row.pk).update(text=key)
    assert outbound_notification_deliver(notification_id=row.pk) == "refused"
    assert receiver.requests == []
    row.refresh_from_db()
    assert row.status == "refused"
    assert AuditEvent.objects.filter(action="notification.refused").count() == 1
