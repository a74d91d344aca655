"""The outbox page: administrators see every email certdesk sent, never a body."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from certificates import crypto
from certificates.models import Environment, OutboundEmail
from tests.support.reminders import NOW

pytestmark = pytest.mark.django_db

KEY_PEM = crypto.private_key_to_pem(crypto.generate_private_key()).decode()


def _email(subject: str, *, kind: str = "reminder", status: str = "sent", **fields: object) -> None:
    values: dict[str, object] = {"body_text": f"body of {subject}", **fields}
    OutboundEmail.objects.create(
        kind=kind, to=["alice@acme.example"], subject=subject, status=status, **values
    )


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, admin_user: object) -> None:
    """Login first, as everywhere (once certdesk is set up)."""
    response = client.get("/outbox/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["viewer", "requester", "custodian"])
def test_members_are_refused(
    member_client: Callable[..., Client], sandbox: Environment, role: str
) -> None:
    """Only administrators read the outbox: 403 for every role of an environment."""
    assert member_client(role, sandbox).get("/outbox/").status_code == 403


def test_administrators_see_when_to_whom_kind_subject_status_attempts_error(
    admin_client: Client,
) -> None:
    """Each row says when, to whom, what kind, the subject, its status, attempts and error."""
    _email(
        "Treezor Sandbox mTLS certificate expires in 14 days",
        status="failed",
        attempts=3,
        last_error="SMTPDataError: (451, b'Try again later')",
    )
    page = admin_client.get("/outbox/").content.decode()
    for text in (
        "alice@acme.example",
        "Reminder to the owners",
        "Treezor Sandbox mTLS certificate expires in 14 days",
        "Failed",
        '<td data-label="Attempts">3</td>',
        "SMTPDataError: (451, b&#x27;Try again later&#x27;)",
    ):
        assert text in page
    assert "body of" not in page


def test_a_refused_email_shows_no_key_material(admin_client: Client) -> None:
    """A refused email's body is never shown, and a subject carrying a key is withheld."""
    _email("Here is the key", status="refused", body_text=KEY_PEM)
    _email(f"Oops {KEY_PEM[:120]}", status="refused")
    page = admin_client.get("/outbox/").content.decode()
    assert "PRIVATE KEY" not in page
    assert "Here is the key" in page
    assert "(subject withheld: it carries private-key material)" in page


def test_newest_first_fifty_a_page(admin_client: Client) -> None:
    """51 emails: page 1 has the 50 newest, page 2 the oldest."""
    with time_machine.travel(NOW, tick=False) as clock:
        for number in range(51):
            clock.shift(timedelta(minutes=1))
            _email(f"email number {number:02d}")
    first = admin_client.get("/outbox/").content.decode()
    assert first.index("email number 50") < first.index("email number 49")
    assert "email number 00" not in first
    assert "Page 1 of 2" in first
    second = admin_client.get("/outbox/?page=2").content.decode()
    assert "email number 00" in second
    assert "email number 01" not in second


def test_filters_by_status_and_kind(admin_client: Client) -> None:
    """?status= and ?kind= narrow the list; an unknown value is ignored, not an error."""
    _email("sent reminder")
    _email("failed reminder", status="failed")
    _email("sent renewal", kind="tam_renewal")
    failed = admin_client.get("/outbox/?status=failed").content.decode()
    assert "failed reminder" in failed
    assert "sent reminder" not in failed
    renewals = admin_client.get("/outbox/?kind=tam_renewal").content.decode()
    assert "sent renewal" in renewals
    assert "sent reminder" not in renewals
    both = admin_client.get("/outbox/?kind=reminder&status=sent").content.decode()
    assert "sent reminder" in both
    assert "failed reminder" not in both
    assert "sent renewal" not in both
    anything = admin_client.get("/outbox/?status=bogus").content.decode()
    assert "sent renewal" in anything
    assert admin_client.get("/outbox/?kind=nothing").status_code == 200
    assert "No email matches these filters." in (
        admin_client.get("/outbox/?status=queued").content.decode()
    )
