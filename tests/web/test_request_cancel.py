"""Withdrawing a request in the browser: the confirmation page, the reason, the request's page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates import services
from certificates.models import AuditEvent, Environment, Membership, SigningRequest
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def ready(sandbox: Environment) -> SigningRequest:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)


@pytest.fixture
def alice(make_member: Callable[[str, Environment], User], sandbox: Environment) -> User:
    user = make_member("requester", sandbox)
    user.username = "alice"
    user.save()
    return user


@pytest.fixture
def requester(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_request_page_offers_cancel_to_requesters_only(
    member_client: Callable[..., Client], sandbox: Environment, ready: SigningRequest
) -> None:
    """Requesters and custodians see the button; a viewer does not."""
    for role, shown in (("viewer", False), ("requester", True), ("custodian", True)):
        page = member_client(role, sandbox).get(f"/requests/{ready.pk}/").content.decode()
        assert (f"/requests/{ready.pk}/cancel/" in page) is shown, role


def test_the_confirmation_page_says_what_cancelling_does(
    requester: Client, ready: SigningRequest
) -> None:
    """Before anything changes: the key is destroyed, the CSR cannot be sent; for a sent CSR,
    tell the TAM to ignore it."""
    page = requester.get(f"/requests/{ready.pk}/cancel/").content.decode()
    assert "destroys the private key" in page
    assert "can no longer be sent" in page
    assert "Treezor has this CSR already" not in page
    assert 'name="reason"' in page
    services.request_mark_sent(actor=CLI, signing_request=ready, sent_on=date.today())
    page = requester.get(f"/requests/{ready.pk}/cancel/").content.decode()
    assert "Treezor has this CSR already" in page
    assert "tam@treezor.example" in page
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.SENT


def test_cancelling_shows_reason_who_and_when_on_the_request_page(
    requester: Client, ready: SigningRequest
) -> None:
    """After the POST the page says Cancelled, by alice, why; no send, upload or cancel button
    is left, and the key is destroyed."""
    response = requester.post(
        f"/requests/{ready.pk}/cancel/", {"reason": "Typo: exmaple.com"}, follow=True
    )
    page = response.content.decode()
    assert f"Request #{ready.pk} is cancelled." in page
    assert "Typo: exmaple.com" in page
    assert "alice" in page
    assert f"/requests/{ready.pk}/cancel/" not in page
    assert "Send to the TAM" not in page
    assert "Upload the certificate Treezor sent" not in page
    assert "private key destroyed" in page
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.CANCELLED
    assert ready.key.encrypted_private_key is None


def test_a_blank_reason_is_asked_for_next_to_the_field(
    requester: Client, ready: SigningRequest
) -> None:
    """No reason: the same page with the message by the field, nothing changed."""
    response = requester.post(f"/requests/{ready.pk}/cancel/", {"reason": "  "})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Say why request #{ready.pk} is cancelled" in page
    assert 'aria-invalid="true"' in page
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.READY


def test_a_viewer_posting_cancel_gets_403_and_changes_nothing(
    member_client: Callable[..., Client], sandbox: Environment, ready: SigningRequest
) -> None:
    """A forged POST by a viewer is refused; a Production member gets 404."""
    response = member_client("viewer", sandbox).post(
        f"/requests/{ready.pk}/cancel/", {"reason": "mine now"}
    )
    assert response.status_code == 403
    other = User.objects.create_user("prod")
    Membership.objects.create(
        user=other, environment=Environment.objects.get(slug="production"), role="custodian"
    )
    client = Client()
    client.force_login(other)
    assert client.post(f"/requests/{ready.pk}/cancel/", {"reason": "x"}).status_code == 404
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.READY
    assert not AuditEvent.objects.filter(action="request.cancelled").exists()


def test_a_fulfilled_request_cannot_be_cancelled_from_the_browser(
    requester: Client, ready: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """No button; the page (or a forged POST) says to revoke the certificate instead."""
    certificate = services.certificate_upload(actor=CLI, data=issue(ready)).certificate
    page = requester.get(f"/requests/{ready.pk}/").content.decode()
    assert f"/requests/{ready.pk}/cancel/" not in page
    for response in (
        requester.get(f"/requests/{ready.pk}/cancel/", follow=True),
        requester.post(f"/requests/{ready.pk}/cancel/", {"reason": "oops"}, follow=True),
    ):
        assert f"already has certificate #{certificate.pk}: revoke it instead" in (
            response.content.decode()
        )
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.FULFILLED
