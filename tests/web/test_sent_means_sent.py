"""Issue 13, point 7: wherever certdesk said "Sent to the TAM", it now says what happened to
the email (queued, sent, retrying, failed with the reason), and the sender of a TAM email
that finally failed finds a "Failed emails" notice on their dashboard."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import services
from certificates.models import Environment, OutboundEmail, SigningRequest
from certificates.services import outbox as outbox_service
from certificates.services.outbox import MAX_ATTEMPTS, outbound_email_deliver
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


class _RefusingServer:
    def send_messages(self, messages: list[Any]) -> int:
        raise smtplib.SMTPRecipientsRefused({"tam@treezor.example": (550, b"No such user")})


@pytest.fixture
def sent_by_alice(
    sandbox: Environment,
    make_member: Callable[[str, Environment], User],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> tuple[Client, SigningRequest, OutboundEmail]:
    """Alice sends a CSR through the page; the worker has not run (the email is queued)."""
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    request = services.request_create(
        actor=services.Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    client = Client()
    client.force_login(make_member("requester", sandbox))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/environments/sandbox/send/",
            {"requests": [request.pk], "send": "1", "token": str(uuid.uuid4())},
        )
    assert response.status_code == 302
    return client, request, OutboundEmail.objects.get()


def _in_flight(client: Client) -> str:
    page = client.get("/").content.decode()
    start = page.index('class="in-flight"')
    return page[start : page.index("</p>", start)]


def _status_line(client: Client, request: SigningRequest) -> str:
    page = client.get(f"/requests/{request.pk}/").content.decode()
    start = page.index('class="status')
    return page[start : page.index("</p>", start)]


def test_the_dashboard_and_request_page_follow_the_email_not_the_click(
    sent_by_alice: tuple[Client, SigningRequest, OutboundEmail],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Queued: "Queued for the TAM", not "Sent"; a failed attempt: "Not delivered yet" with the
    reason; given up: "Email to the TAM failed" with the reason; delivered: "Sent"."""
    client, request, email = sent_by_alice
    for text in (_in_flight(client), _status_line(client, request)):
        assert "Queued for the TAM" in text
        assert "Sent to the TAM" not in text

    with monkeypatch.context() as patched:
        patched.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            outbound_email_deliver(email_id=email.pk)
        for text in (_in_flight(client), _status_line(client, request)):
            assert "Not delivered to the TAM yet" in text
            assert "No such user" in text

        OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS - 1)
        assert outbound_email_deliver(email_id=email.pk) == "failed"
    for text in (_in_flight(client), _status_line(client, request)):
        assert "Email to the TAM failed" in text
        assert "SMTPRecipientsRefused" in text
        assert "Sent to the TAM" not in text

    OutboundEmail.objects.filter(pk=email.pk).update(attempts=0)
    assert outbound_email_deliver(email_id=email.pk) == "sent"
    for text in (_in_flight(client), _status_line(client, request)):
        assert "Sent to the TAM just now" in text  # not "0 minutes ago" (issue 16)


def test_the_sender_sees_failed_emails_on_the_dashboard_others_do_not(
    sent_by_alice: tuple[Client, SigningRequest, OutboundEmail],
    sandbox: Environment,
    member_client: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A "Failed emails" notice names the email, the reason and what to do, for the person who
    sent it only; it goes once the email is delivered."""
    client, _, email = sent_by_alice
    assert "Failed emails" not in client.get("/").content.decode()
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS - 1)
    monkeypatch.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
    assert outbound_email_deliver(email_id=email.pk) == "failed"
    page = client.get("/").content.decode()
    start = page.index('id="failed-emails-heading"')
    notice = page[start : page.index("</section>", start)]
    assert "CSRs to the TAM" in notice
    assert "tam@treezor.example" in notice
    assert f"gave up after {MAX_ATTEMPTS} attempts" in notice
    assert "No such user" in notice
    assert "Failed emails" not in member_client("requester", sandbox).get("/").content.decode()
    monkeypatch.undo()
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=0)
    assert outbound_email_deliver(email_id=email.pk) == "sent"
    assert "Failed emails" not in client.get("/").content.decode()


def test_the_send_page_shows_the_state_of_a_sent_csrs_email(
    sent_by_alice: tuple[Client, SigningRequest, OutboundEmail],
) -> None:
    """The send page lists the sent CSR with its email's real state (queued here)."""
    client, request, _ = sent_by_alice
    page = client.get("/environments/sandbox/send/").content.decode()
    start = page.index('id="already-sent-heading"')
    listed = page[start : page.index("</section>", start)]
    assert f"#{request.pk} mTLS" in listed
    assert "Queued for the TAM" in listed


def test_the_resend_page_says_when_the_first_email_failed(
    sent_by_alice: tuple[Client, SigningRequest, OutboundEmail],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A resend page never claims "the TAM already has it" when certdesk's email failed."""
    client, request, email = sent_by_alice
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS - 1)
    monkeypatch.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
    assert outbound_email_deliver(email_id=email.pk) == "failed"
    page = client.get(f"/requests/{request.pk}/resend/").content.decode()
    assert "already has this CSR" not in page
    assert f"gave up after {MAX_ATTEMPTS} attempts" in page
