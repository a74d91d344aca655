"""Issue 12, point 5 (the rest): the request page and the TAM email show the subject exactly as
the stored CSR holds it, in its own order, as `openssl req -noout -subject` prints it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from django.test import Client
from django.utils.html import escape

from certificates import crypto, services
from certificates.models import CompanyProfile, Environment, SigningRequest
from certificates.services import Actor
from certificates.services.tam import tam_email_compose

pytestmark = pytest.mark.django_db

CLI = Actor.cli()
# An imported CSR in the reverse of the table's order, with a value OpenSSL quotes.
REVERSED = x509.Name(
    [
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "it@acme.com"),
        x509.NameAttribute(NameOID.COMMON_NAME, "acme.com"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IT"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme, Inc"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Rennes"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Brittany"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
    ]
)
EXPECTED = (
    'emailAddress = it@acme.com, CN = acme.com, OU = IT, O = "Acme, Inc", L = Rennes, '
    "ST = Brittany, C = FR"
)


@pytest.fixture
def imported(sandbox: Environment, tmp_path: Path) -> tuple[SigningRequest, bytes]:
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    key = crypto.generate_private_key()
    csr = x509.CertificateSigningRequestBuilder().subject_name(REVERSED).sign(key, hashes.SHA256())
    pem = csr.public_bytes(serialization.Encoding.PEM)
    request = services.request_import(actor=CLI, environment=sandbox, purpose="mtls", csr_data=pem)
    return request, pem


def test_the_request_page_shows_the_csr_subject_in_its_own_order(
    imported: tuple[SigningRequest, bytes],
    member_client: Callable[..., Client],
    sandbox: Environment,
) -> None:
    """Not certdesk's fields re-ordered (C first): the CSR's attributes as the file has them."""
    request, _ = imported
    page = member_client("viewer", sandbox).get(f"/requests/{request.pk}/").content.decode()
    assert "<code>" + escape(EXPECTED) + "</code>" in page


def test_the_tam_email_shows_the_same_subject(
    imported: tuple[SigningRequest, bytes], sandbox: Environment
) -> None:
    """The TAM reads the subject the attached CSR really has."""
    request, _ = imported
    composed = tam_email_compose(environment=sandbox, signing_requests=[request])
    assert f"Subject: {EXPECTED}" in composed.body_text


def test_the_subject_shown_is_what_openssl_prints(
    imported: tuple[SigningRequest, bytes], tmp_path: Path
) -> None:
    """`openssl req -noout -subject` on the stored CSR prints the same line, escaping included."""
    request, _ = imported
    path = tmp_path / "request.csr"
    path.write_text(request.csr_pem)
    try:
        done = subprocess.run(
            ["openssl", "req", "-in", str(path), "-noout", "-subject"],
            capture_output=True,
            text=True,
            check=True,
        )
    except FileNotFoundError:
        pytest.skip("openssl is not installed")
    assert done.stdout.strip() == f"subject={EXPECTED}"
    assert crypto.csr_subject_oneline(request.csr_pem.encode()) == EXPECTED
