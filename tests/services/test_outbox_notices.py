"""Issue 13, points 6 and 7: the Message-ID is the row's stored random one, and the person who
asked for a TAM email is told (by email, through the outbox) when it finally fails."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import services
from certificates.models import Environment, OutboundEmail, SigningRequest
from certificates.services import Actor
from certificates.services import outbox as outbox_service
from certificates.services.outbox import MAX_ATTEMPTS, outbound_email_deliver
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


class _RefusingServer:
    """A mail connection whose server refuses every message, as a broken relay does."""

    def send_messages(self, messages: list[Any]) -> int:
        raise smtplib.SMTPRecipientsRefused({"tam@treezor.example": (550, b"No such user")})


def _email(pk: int | None = None) -> OutboundEmail:
    return OutboundEmail.objects.create(
        pk=pk,
        kind=OutboundEmail.Kind.REMINDER,
        to=["owner@example.com"],
        subject="Treezor Sandbox mTLS certificate expires in 7 days",
        body_text="Renew it.",
    )


def test_two_emails_with_the_same_id_in_two_databases_get_different_message_ids() -> None:
    """A restore rewinds the ids: the email that reuses a row id after it must not reuse the
    Message-ID of the one sent before (it did, built from the id)."""
    first = _email()
    assert outbound_email_deliver(email_id=first.pk) == "sent"
    pk = first.pk
    OutboundEmail.objects.filter(pk=pk).delete()  # the restore: the row is gone, the id free
    second = _email(pk=pk)
    assert outbound_email_deliver(email_id=second.pk) == "sent"
    before, after = (m.extra_headers["Message-ID"] for m in mail.outbox)
    assert before != after
    assert after == second.message_id
    assert before.startswith("<")
    assert before.endswith(">")


def test_a_retry_of_one_row_keeps_its_message_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry/duplicate semantics stay: attempt 2 of one row carries attempt 1's id."""
    email = _email()
    seen: list[str] = []

    class _FailOnceServer:
        def send_messages(self, messages: list[Any]) -> int:
            seen.append(messages[0].extra_headers["Message-ID"])
            if len(seen) == 1:
                raise smtplib.SMTPServerDisconnected("gone")
            return len(messages)

    monkeypatch.setattr(outbox_service, "get_connection", lambda: _FailOnceServer())
    with pytest.raises(smtplib.SMTPServerDisconnected):
        outbound_email_deliver(email_id=email.pk)
    assert outbound_email_deliver(email_id=email.pk) == "sent"
    assert seen == [email.message_id, email.message_id]


@pytest.fixture
def queued_tam_email(
    sandbox: Environment,
    make_member: Callable[[str, Environment], User],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> tuple[OutboundEmail, User]:
    """Alice (a requester with an address) sends a CSR; the email is queued, not yet sent."""
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    alice = make_member("requester", sandbox)
    alice.email = "alice@acme.example"
    alice.save()
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    with django_capture_on_commit_callbacks(execute=False):
        email = services.tam_send(
            actor=Actor(user=alice), environment=sandbox, signing_requests=[request]
        )
    assert email.created_by == alice
    return email, alice


def test_the_sender_is_emailed_when_a_tam_email_is_given_up(
    queued_tam_email: tuple[OutboundEmail, User],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The last attempt fails: the TAM email stays failed, and Alice (not the TAM) gets an
    email through the outbox saying which email, why, and that the TAM does not have it."""
    email, _ = queued_tam_email
    OutboundEmail.objects.filter(pk=email.pk).update(status="failed", attempts=MAX_ATTEMPTS - 1)
    with monkeypatch.context() as patched:
        patched.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
        with django_capture_on_commit_callbacks(execute=False) as queued:
            assert outbound_email_deliver(email_id=email.pk) == "failed"
    for send in queued:  # the notice leaves through a mail server that works
        send()
    (notice,) = mail.outbox
    assert notice.to == ["alice@acme.example"]
    assert notice.subject == f"Not delivered to the TAM: {email.subject}"
    assert "tam@treezor.example" in notice.body
    assert f"gave up after {MAX_ATTEMPTS} attempts" in notice.body
    assert "No such user" in notice.body
    assert "The TAM has NOT received it" in notice.body
    assert "BEGIN CERTIFICATE REQUEST" not in notice.body  # names the email, never its content
    row = OutboundEmail.objects.get(to=["alice@acme.example"])
    assert (row.status, row.created_by) == ("sent", None)  # its own failure would tell nobody


def test_a_failure_that_is_retried_tells_nobody_yet(
    queued_tam_email: tuple[OutboundEmail, User],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Attempt 1 failing is not final (certdesk retries): no email to the sender yet."""
    email, _ = queued_tam_email
    monkeypatch.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(smtplib.SMTPException):
        outbound_email_deliver(email_id=email.pk)
    assert OutboundEmail.objects.count() == 1


def test_reminders_of_nobody_tell_nobody(
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """certdesk's own emails (no sender) that fail for good queue no notice."""
    email = _email()
    OutboundEmail.objects.filter(pk=email.pk).update(status="failed", attempts=MAX_ATTEMPTS - 1)
    monkeypatch.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
    with django_capture_on_commit_callbacks(execute=True):
        assert outbound_email_deliver(email_id=email.pk) == "failed"
    assert OutboundEmail.objects.count() == 1
    assert SigningRequest.objects.count() == 0
