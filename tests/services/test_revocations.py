"""The revocation services (rule 8) called directly, without the pages or commands in front:
a compromise reported once, emailed to the TAM at once; a revocation of a certificate no longer
needed; Treezor's confirmation recorded; each refusal a ServiceError naming its field, with
nothing changed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from certificates import crypto
from certificates.models import AuditEvent, Certificate, Environment, OutboundEmail, Revocation
from certificates.services import Actor, ServiceError
from certificates.services.revocations import (
    revocation_confirm,
    revocation_report_compromise,
    revocation_request,
)
from tests.support.factories import CertificateFactory, member

pytestmark = pytest.mark.django_db

CLI = Actor.cli()
TAM = "tam@treezor.example"
DAY = timedelta(days=1)


@pytest.fixture
def certificate(sandbox: Environment) -> Certificate:
    """The Sandbox mTLS certificate in service, with a TAM to write to."""
    sandbox.tam_emails = [TAM]
    sandbox.save()
    return CertificateFactory.create(signing_request__environment=sandbox)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


def test_a_compromise_marks_the_key_and_emails_the_tam_urgently(certificate: Certificate) -> None:
    """The key is compromised, the certificate revocation-requested, the TAM's urgent email
    queued in the same call, and both facts audited."""
    revocation = revocation_report_compromise(
        actor=CLI, certificate=certificate, suspected_since=timezone.localdate() - DAY
    )

    certificate.signing_request.key.refresh_from_db()
    assert certificate.signing_request.key.compromised_at is not None
    assert revocation.reason == Revocation.Reason.KEY_COMPROMISE
    assert revocation.tam_notified_at is not None
    (email,) = OutboundEmail.objects.all()
    assert email.kind == OutboundEmail.Kind.TAM_REVOCATION
    assert email.to == [TAM]
    assert email.subject.startswith("URGENT: key compromise, revoke")
    assert certificate.serial in email.subject
    assert actions()[-2:] == ["certificate.revocation_requested", "key.compromised"]


def test_a_compromise_cannot_be_suspected_since_a_future_date(certificate: Certificate) -> None:
    """A future date is refused on its field; the key stays as it was, nothing is sent."""
    with pytest.raises(ServiceError) as refused:
        revocation_report_compromise(
            actor=CLI, certificate=certificate, suspected_since=timezone.localdate() + DAY
        )
    assert refused.value.field == "suspected_since"
    certificate.signing_request.key.refresh_from_db()
    assert certificate.signing_request.key.compromised_at is None
    assert not Revocation.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_a_second_report_is_refused_and_sends_nothing(certificate: Certificate) -> None:
    """Another report of the same key says when it was reported and by whom; one email only."""
    revocation_report_compromise(
        actor=CLI, certificate=certificate, suspected_since=timezone.localdate()
    )
    with pytest.raises(ServiceError, match="already reported compromised"):
        revocation_report_compromise(
            actor=CLI, certificate=certificate, suspected_since=timezone.localdate()
        )
    assert OutboundEmail.objects.count() == 1
    assert Revocation.objects.count() == 1


def test_the_same_submission_twice_returns_the_first_revocation(certificate: Certificate) -> None:
    """A form submitted twice (its one-time token) gets the first revocation back, silently."""
    token = uuid.uuid4()
    first = revocation_report_compromise(
        actor=CLI,
        certificate=certificate,
        suspected_since=timezone.localdate(),
        submission_token=token,
    )
    again = revocation_report_compromise(
        actor=CLI,
        certificate=certificate,
        suspected_since=timezone.localdate(),
        submission_token=token,
    )
    assert again.pk == first.pk
    assert OutboundEmail.objects.count() == 1


def test_a_viewer_may_not_report_a_compromise(
    certificate: Certificate, sandbox: Environment
) -> None:
    """Custody is needed: a viewer is refused and nothing changes."""
    viewer = member("viewer", sandbox)
    with pytest.raises(PermissionDenied):
        revocation_report_compromise(
            actor=Actor.cli(viewer), certificate=certificate, suspected_since=timezone.localdate()
        )
    assert not Revocation.objects.exists()


def test_without_a_tam_the_revocation_is_recorded_but_not_emailed(sandbox: Environment) -> None:
    """No TAM address: the revocation is recorded, no email is queued, none is claimed sent."""
    certificate = CertificateFactory.create(signing_request__environment=sandbox)
    revocation = revocation_request(
        actor=CLI, certificate=certificate, reason=Revocation.Reason.SUPERSEDED
    )
    assert revocation.tam_notified_at is None
    assert not OutboundEmail.objects.exists()


def test_a_note_with_a_private_key_is_refused_without_a_tam(
    sandbox: Environment, rsa_key_pem: str
) -> None:
    """Without a TAM the note would be stored: a private key in it is refused on the note,
    nothing stored, and the refusal audited."""
    certificate = CertificateFactory.create(signing_request__environment=sandbox)
    with pytest.raises(ServiceError) as refused:
        revocation_report_compromise(
            actor=CLI,
            certificate=certificate,
            suspected_since=timezone.localdate(),
            note=f"here it is:\n{rsa_key_pem}",
        )
    assert refused.value.field == "note"
    assert not Revocation.objects.exists()
    certificate.signing_request.key.refresh_from_db()
    assert certificate.signing_request.key.compromised_at is None
    assert actions()[-1] == "revocation.note_refused"
    assert "PRIVATE KEY" not in str(AuditEvent.objects.last().details)  # type: ignore[union-attr]


def test_a_certificate_no_longer_needed_is_revoked_politely(certificate: Certificate) -> None:
    """Superseded is a reason to revoke: a "Please revoke" email, the key left as it was."""
    revocation = revocation_request(
        actor=CLI, certificate=certificate, reason=Revocation.Reason.SUPERSEDED
    )
    assert revocation.reason == Revocation.Reason.SUPERSEDED
    (email,) = OutboundEmail.objects.all()
    assert email.subject.startswith("Please revoke")
    certificate.signing_request.key.refresh_from_db()
    assert certificate.signing_request.key.compromised_at is None
    assert actions()[-1] == "certificate.revocation_requested"


@pytest.mark.parametrize(
    ("reason", "note", "field"),
    [
        (Revocation.Reason.KEY_COMPROMISE, "", "reason"),
        (Revocation.Reason.OTHER, "  ", "note"),
    ],
    ids=["compromise-is-another-path", "other-needs-a-note"],
)
def test_a_revocation_request_names_the_field_to_fix(
    certificate: Certificate, reason: str, note: str, field: str
) -> None:
    """A leaked key goes through the compromise report; "other" needs a note. Nothing kept."""
    with pytest.raises(ServiceError) as refused:
        revocation_request(actor=CLI, certificate=certificate, reason=reason, note=note)
    assert refused.value.field == field
    assert not Revocation.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_treezors_confirmation_revokes_the_certificate_once(certificate: Certificate) -> None:
    """Confirmed today: recorded and audited; a second confirmation is refused."""
    revocation = revocation_request(
        actor=CLI, certificate=certificate, reason=Revocation.Reason.SUPERSEDED
    )
    confirmed = revocation_confirm(
        actor=CLI, revocation=revocation, confirmed_on=timezone.localdate()
    )
    assert confirmed.confirmed_at is not None
    assert actions()[-1] == "certificate.revoked"
    with pytest.raises(ServiceError, match="confirmed already"):
        revocation_confirm(actor=CLI, revocation=revocation, confirmed_on=timezone.localdate())
    assert actions().count("certificate.revoked") == 1


@pytest.mark.parametrize("days", [1, -1], ids=["future", "before-the-request"])
def test_a_confirmation_date_outside_the_request_and_today_is_refused(
    certificate: Certificate, days: int
) -> None:
    """Treezor cannot confirm tomorrow, nor before it was asked: refused on the date field."""
    revocation = revocation_request(
        actor=CLI, certificate=certificate, reason=Revocation.Reason.SUPERSEDED
    )
    with pytest.raises(ServiceError) as refused:
        revocation_confirm(
            actor=CLI, revocation=revocation, confirmed_on=timezone.localdate() + days * DAY
        )
    assert refused.value.field == "confirmed_on"
    revocation.refresh_from_db()
    assert revocation.confirmed_at is None


@pytest.fixture
def rsa_key_pem() -> str:
    return crypto.private_key_to_pem(crypto.generate_private_key()).decode("ascii")
