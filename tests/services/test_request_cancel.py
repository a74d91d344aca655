"""request_cancel: a request without a certificate is withdrawn, with a reason, its generated key
destroyed and its fingerprint kept; it can then never be sent or fulfilled (issue 11, point 6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from certificates import crypto, services
from certificates.models import AuditEvent, Environment, Key, SigningRequest
from certificates.services import Actor, ServiceError
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def ready(sandbox: Environment) -> SigningRequest:
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)


@pytest.fixture
def requester(make_member: Callable[[str, Environment], User], sandbox: Environment) -> Actor:
    return Actor(user=make_member("requester", sandbox))


def test_cancelling_a_ready_request_records_who_when_why_and_destroys_its_key(
    ready: SigningRequest, requester: Actor
) -> None:
    """Status cancelled with date, user and reason; the private key is gone at once, the Key
    row and its fingerprint stay; both events are audited without key material."""
    fingerprint = ready.key.fingerprint
    with time_machine.travel(NOW, tick=False):
        cancelled = services.request_cancel(
            actor=requester, signing_request=ready, reason="  Typo: exmaple.com in the CN  "
        )
    assert cancelled.status == SigningRequest.Status.CANCELLED
    assert cancelled.cancelled_at == NOW
    assert cancelled.cancelled_by == requester.user
    assert cancelled.cancel_reason == "Typo: exmaple.com in the CN"
    key = Key.objects.get(fingerprint=fingerprint)
    assert key.encrypted_private_key is None
    assert key.destroyed_at == NOW
    event = AuditEvent.objects.get(action="request.cancelled")
    assert event.target_id == str(ready.pk)
    assert event.details == {
        "reason": "Typo: exmaple.com in the CN",
        "previous_status": "ready",
        "key_destroyed": True,
        "key_fingerprint": fingerprint,
    }
    destroyed = AuditEvent.objects.get(action="key.destroyed")
    assert destroyed.details["key_fingerprint"] == fingerprint
    assert "PRIVATE KEY" not in str(event.details) + str(destroyed.details)


def test_the_key_of_a_cancelled_request_is_refused_forever(ready: SigningRequest) -> None:
    """Rule 2 after a cancellation: the CSR (and so its key) brought again is refused."""
    services.request_cancel(actor=CLI, signing_request=ready, reason="not needed")
    with pytest.raises(ServiceError, match="key was used before"):
        services.request_import(
            actor=CLI,
            environment=ready.environment,
            purpose="mtls",
            csr_data=ready.csr_pem.encode("ascii"),
        )
    assert SigningRequest.objects.count() == 1


def test_a_request_with_the_users_own_key_is_cancelled_without_destroying_anything(
    sandbox: Environment,
) -> None:
    """A brought CSR has no private key here: key_destroyed is false, no key.destroyed event,
    and its key is still refused afterwards."""
    own_key = crypto.generate_private_key()
    csr_pem = crypto.csr_to_pem(crypto.build_csr(own_key, ACME))
    imported = services.request_import(
        actor=CLI, environment=sandbox, purpose="mtls", csr_data=csr_pem
    )
    services.request_cancel(actor=CLI, signing_request=imported, reason="brought by mistake")
    event = AuditEvent.objects.get(action="request.cancelled")
    assert event.details["key_destroyed"] is False
    assert not AuditEvent.objects.filter(action="key.destroyed").exists()
    assert Key.objects.get(pk=imported.key.pk).destroyed_at is None
    with pytest.raises(ServiceError, match="key was used before"):
        services.request_import(actor=CLI, environment=sandbox, purpose="mtls", csr_data=csr_pem)


def test_a_sent_request_can_be_cancelled(ready: SigningRequest) -> None:
    """A CSR that went to the TAM may still be withdrawn (the page tells to warn the TAM)."""
    services.request_mark_sent(actor=CLI, signing_request=ready, sent_on=date.today())
    ready.refresh_from_db()
    cancelled = services.request_cancel(actor=CLI, signing_request=ready, reason="wrong CN")
    assert cancelled.status == SigningRequest.Status.CANCELLED
    assert cancelled.sent_at is not None


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Say why request"),
        ("   \n ", "Say why request"),
        ("x" * 501, "keep it under 500"),
        ("typo\x1b[31m", "control characters"),
        ("typo\x00", "control characters"),
        ("typo \u202ecod.elpmaxe", "control characters"),
    ],
)
def test_a_reason_is_required_short_and_plain_text(
    ready: SigningRequest, reason: str, message: str
) -> None:
    """A blank, overlong or control-character reason is refused; nothing changes."""
    with pytest.raises(ServiceError, match=message) as refused:
        services.request_cancel(actor=CLI, signing_request=ready, reason=reason)
    assert refused.value.field == "reason"
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.READY
    assert ready.key.encrypted_private_key is not None
    assert not AuditEvent.objects.filter(action="request.cancelled").exists()


def test_a_reason_may_span_lines(ready: SigningRequest) -> None:
    """Line breaks typed in the page's text area are text, not control characters."""
    cancelled = services.request_cancel(
        actor=CLI, signing_request=ready, reason="Typo in the CN.\r\nA new request follows."
    )
    assert cancelled.cancel_reason == "Typo in the CN.\nA new request follows."


def test_a_viewer_cannot_cancel(
    make_member: Callable[[str, Environment], User], sandbox: Environment, ready: SigningRequest
) -> None:
    """Only requesters (and custodians) of the environment cancel; a viewer changes nothing."""
    viewer = Actor(user=make_member("viewer", sandbox))
    with pytest.raises(PermissionDenied):
        services.request_cancel(actor=viewer, signing_request=ready, reason="mine")
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.READY


def test_a_fulfilled_request_is_refused_with_revoke_instead(
    ready: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """A request with its certificate is not cancelled: the message names the certificate."""
    certificate = services.certificate_upload(actor=CLI, data=issue(ready)).certificate
    ready.refresh_from_db()
    with pytest.raises(ServiceError) as refused:
        services.request_cancel(actor=CLI, signing_request=ready, reason="oops")
    assert str(refused.value) == (
        f"Request #{ready.pk} already has certificate #{certificate.pk}: revoke it instead "
        "(on the certificate's page)."
    )
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.FULFILLED
    assert ready.key.encrypted_private_key is not None


def test_a_request_cancelled_already_is_refused_with_the_date(ready: SigningRequest) -> None:
    """Cancelling twice says when it was cancelled and records nothing more."""
    with time_machine.travel(NOW, tick=False):
        services.request_cancel(actor=CLI, signing_request=ready, reason="first")
    ready.refresh_from_db()
    with pytest.raises(ServiceError, match=rf"Request #{ready.pk} was cancelled on 2026-05-04"):
        services.request_cancel(actor=CLI, signing_request=ready, reason="second")
    assert AuditEvent.objects.filter(action="request.cancelled").count() == 1


def test_a_stale_page_cannot_cancel_a_request_fulfilled_meanwhile(
    ready: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Compare-and-set: the object read as "ready" before the certificate came is refused."""
    stale = SigningRequest.objects.select_related("environment", "key").get(pk=ready.pk)
    certificate = services.certificate_upload(actor=CLI, data=issue(ready)).certificate
    with pytest.raises(ServiceError, match=f"already has certificate #{certificate.pk}"):
        services.request_cancel(actor=CLI, signing_request=stale, reason="oops")
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.FULFILLED
    assert not AuditEvent.objects.filter(action="request.cancelled").exists()


# --- a cancelled request is never sent or fulfilled -----------------------------------------


def test_a_cancelled_request_cannot_be_sent_to_the_tam(ready: SigningRequest) -> None:
    """tam_send refuses it by name; no email is queued."""
    environment = ready.environment
    environment.tam_emails = ["tam@treezor.example"]
    environment.save()
    services.request_cancel(actor=CLI, signing_request=ready, reason="typo")
    with pytest.raises(ServiceError, match=rf"Request #{ready.pk} was cancelled on .*no longer"):
        services.tam_send(actor=CLI, environment=environment, signing_requests=[ready])
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.CANCELLED
    assert ready.sent_at is None


def test_a_cancelled_request_cannot_be_marked_sent(ready: SigningRequest) -> None:
    """Marking a withdrawn CSR as sent by hand is refused, even from a page read before."""
    stale = SigningRequest.objects.select_related("environment", "key").get(pk=ready.pk)
    services.request_cancel(actor=CLI, signing_request=ready, reason="typo")
    with pytest.raises(ServiceError, match="was cancelled on"):
        services.request_mark_sent(actor=CLI, signing_request=stale, sent_on=date.today())
    ready.refresh_from_db()
    with pytest.raises(ServiceError, match="was cancelled on"):
        services.request_mark_sent(actor=CLI, signing_request=ready, sent_on=date.today())
    ready.refresh_from_db()
    assert (ready.status, ready.sent_at) == (SigningRequest.Status.CANCELLED, None)


def test_a_certificate_for_a_cancelled_request_is_refused(
    ready: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Treezor's answer to a withdrawn CSR is not installed."""
    services.request_cancel(actor=CLI, signing_request=ready, reason="typo")
    with pytest.raises(ServiceError, match=f"Request #{ready.pk} was cancelled"):
        services.certificate_upload(actor=CLI, data=issue(ready))
    assert not ready.certificates.exists()
