"""tam_send: one CSR per purpose per email, whoever calls it (page, forged POST, code)."""

from __future__ import annotations

import pytest

from certificates import services
from certificates.models import Environment, OutboundEmail, SigningRequest
from certificates.services import Actor, ServiceError
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def sandbox_with_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    return sandbox


def test_two_csrs_of_one_purpose_are_never_sent_together(sandbox_with_tam: Environment) -> None:
    """Two mTLS CSRs in one email would carry two files named <company>_csr_mtls.pem: refused
    with both numbers, nothing queued, both still ready."""
    first = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    second = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    with pytest.raises(ServiceError) as refused:
        services.tam_send(actor=CLI, environment=sandbox_with_tam, signing_requests=[second, first])
    assert str(refused.value) == (
        f"Requests #{first.pk} and #{second.pk} are both mTLS CSRs: send one, cancel the other."
    )
    assert not OutboundEmail.objects.exists()
    assert set(SigningRequest.objects.values_list("status", flat=True)) == {"ready"}


def test_one_csr_of_each_purpose_goes_in_one_email(sandbox_with_tam: Environment) -> None:
    """mTLS and signature together are the normal set: one email, two distinct files."""
    mtls = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    signature = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="signature", subject=ACME
    )
    email = services.tam_send(
        actor=CLI, environment=sandbox_with_tam, signing_requests=[mtls, signature]
    )
    names = [attachment["filename"] for attachment in email.attachments]
    assert sorted(names) == ["company_csr_mtls.pem", "company_csr_signature.pem"]
