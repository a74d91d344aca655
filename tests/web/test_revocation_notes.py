"""Issue 12, point 7: a private key in a revocation note is refused, the refusal is recorded even
though the revocation rolls back, and the note never comes back into the form or the database."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import emails, services
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Key,
    OutboundEmail,
    Revocation,
    SigningRequest,
)
from certificates.services import Actor
from certificates.services.outbox import KeyMaterialRefused, atomic_keeping_refusals
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()
KEY_B64 = base64.b64encode(
    ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
).decode()
# The reviewer's note: the key as base64 in 15-character lines, between two sentences.
NOTE = (
    "Laptop stolen on the train. The key was:\n"
    + "\n".join(KEY_B64[i : i + 15] for i in range(0, len(KEY_B64), 15))
    + "\nSorry, Bob"
)
PIECES = [KEY_B64[i : i + 15] for i in range(15, 60, 15)]


@pytest.fixture
def custodian(client: Client, make_member: Callable[..., User], sandbox: Environment) -> Client:
    user = make_member("custodian", sandbox)
    user.set_password("custodian password 1")
    user.save()
    client.post("/login/", {"login": user.username, "password": "custodian password 1"})
    return client


@pytest.fixture
def certificate(sandbox: Environment, issue: Callable[..., bytes]) -> Certificate:
    request: SigningRequest = services.request_create(
        actor=CLI, environment=sandbox, purpose="mtls", subject=ACME
    )
    return services.certificate_upload(actor=CLI, data=issue(request)).certificate


def _with_tam(environment: Environment) -> None:
    environment.tam_emails = ["tam@treezor.example"]
    environment.save()


def _note_field(response: object) -> str:
    form = response.context["form"]  # type: ignore[attr-defined]
    return str(form["note"].value() or "")


def test_a_key_in_short_lines_in_a_compromise_note_is_refused_recorded_and_not_echoed(
    custodian: Client,
    certificate: Certificate,
    sandbox: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The TAM gets nothing, nothing is marked or stored, the page shows an empty note with
    why, and the `email.refused` event survives the rollback of the whole report."""
    _with_tam(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = custodian.post(
            f"/certificates/{certificate.pk}/compromised/",
            {"suspected_since": "2026-01-01", "note": NOTE},
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "private-key material" in page
    assert _note_field(response) == ""
    for piece in PIECES:
        assert piece not in page
    assert mail.outbox == []
    assert not OutboundEmail.objects.exists()
    assert not Revocation.objects.exists()
    assert Key.objects.get(pk=certificate.signing_request.key_id).compromised_at is None
    refusal = AuditEvent.objects.get(action="email.refused")
    assert refusal.environment_id == sandbox.pk
    assert KEY_B64[:20] not in str(refusal.details)
    assert not AuditEvent.objects.filter(action="key.compromised").exists()


def test_a_key_in_a_revoke_note_without_a_tam_address_is_not_stored(
    custodian: Client, certificate: Certificate
) -> None:
    """Without a TAM address no email is composed, but the note would still land in the note
    column: it is refused the same way, recorded as `revocation.note_refused`."""
    response = custodian.post(
        f"/certificates/{certificate.pk}/revoke/", {"reason": "other", "note": NOTE}
    )
    assert response.status_code == 200
    assert _note_field(response) == ""
    assert "private-key material" in response.content.decode()
    for piece in PIECES:
        assert piece not in response.content.decode()
    assert not Revocation.objects.exists()
    assert AuditEvent.objects.filter(action="revocation.note_refused").count() == 1


def test_a_key_note_is_not_echoed_even_when_another_field_is_wrong(
    custodian: Client, certificate: Certificate
) -> None:
    """A form refused for its date still drops a note that carries a key, and says so."""
    response = custodian.post(
        f"/certificates/{certificate.pk}/compromised/",
        {"suspected_since": "not a date", "note": NOTE},
    )
    assert _note_field(response) == ""
    assert "private-key material" in " ".join(response.context["form"].errors["note"])
    for piece in PIECES:
        assert piece not in response.content.decode()


def test_an_ordinary_note_still_reaches_the_tam(
    custodian: Client,
    certificate: Certificate,
    sandbox: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The guard does not get in the way of a note without a key."""
    _with_tam(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        custodian.post(
            f"/certificates/{certificate.pk}/revoke/",
            {"reason": "other", "note": "Service retired on 2026-01-31, ref CHG-4411."},
        )
    (message,) = mail.outbox
    assert "CHG-4411" in message.body
    assert Revocation.objects.get().note.startswith("Service retired")


def test_a_refusal_inside_a_rolled_back_transaction_is_still_recorded(
    sandbox: Environment,
) -> None:
    """Any caller: a refusal that rolls back the caller's block is written again after it,
    once; a caller that catches the refusal and commits keeps the first record."""
    composed = emails.ComposedEmail(
        to=["tam@treezor.example"], subject="CSR", body_text=NOTE, body_html=""
    )
    with pytest.raises(KeyMaterialRefused), atomic_keeping_refusals():
        services.outbound_email_queue(
            actor=CLI, kind="tam_csr", composed=composed, environment=sandbox
        )
    assert AuditEvent.objects.filter(action="email.refused").count() == 1
    with transaction.atomic(), pytest.raises(KeyMaterialRefused):
        services.outbound_email_queue(
            actor=CLI, kind="tam_csr", composed=composed, environment=sandbox
        )
    assert AuditEvent.objects.filter(action="email.refused").count() == 2
    with pytest.raises(KeyMaterialRefused), transaction.atomic():
        services.outbound_email_queue(
            actor=CLI, kind="tam_csr", composed=composed, environment=sandbox
        )
    # Plain transaction.atomic() loses it: that is why the services use atomic_keeping_refusals.
    assert AuditEvent.objects.filter(action="email.refused").count() == 2
