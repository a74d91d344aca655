"""Issue 16, "Text as people write it": subjects in UTF-8 everywhere people read them.

A subject with letters beyond ASCII in every field that may hold them (State, Locality,
Organization, Organizational Unit: Country is an ISO code, Common Name a host name and Email an
IA5String, all ASCII by rule 4) reads "Île-de-France" on the request page, the wizard's review,
the send preview, the certificate page, the lists and the dashboard, in the emails to the TAM
and in the audit log; never OpenSSL's escaped ``\\C3\\8Ele-de-France``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import crypto, services
from certificates.models import (
    Certificate,
    CompanyProfile,
    Environment,
    OutboundEmail,
    SigningRequest,
)
from certificates.services import Actor
from certificates.services.reminders import tam_renewal_compose
from certificates.services.revocations import revocation_request
from certificates.services.tam import tam_email_compose
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

CLI = Actor.cli()
FRENCH = crypto.Subject(
    country="FR",
    state="Île-de-France",
    locality="Orléans",
    organization="Société Générale des Cœurs, « SGC »",
    organizational_unit="Équipe Sécurité",
    common_name="acme.com",
    email="it@acme.com",
)
# What people read: OpenSSL's line (`-nameopt oneline,-esc_msb`), letters in UTF-8.
HUMAN = (
    'C = FR, ST = Île-de-France, L = Orléans, O = "Société Générale des Cœurs, « SGC »", '
    "OU = Équipe Sécurité, CN = acme.com, emailAddress = it@acme.com"
)
# What OpenSSL prints by default, and certdesk stored in Certificate.subject before issue 16.
ESCAPED = FRENCH.openssl_oneline()
# Any OpenSSL escape of a byte beyond ASCII.
ESCAPE = re.compile(r"\\[89A-F][0-9A-F]")


def _readable(text: str) -> None:
    """No escaped letter anywhere, and the letters themselves present (HTML-escaped or not)."""
    assert not ESCAPE.search(text), ESCAPE.search(text)


@pytest.fixture
def french(sandbox: Environment) -> SigningRequest:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    CompanyProfile.objects.filter(pk=1).update(company_name="Société Générale")
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=FRENCH)


@pytest.fixture
def installed(french: SigningRequest, issue: Callable[..., bytes]) -> Certificate:
    return services.certificate_upload(actor=CLI, data=issue(french)).certificate


def test_the_readable_form_is_what_openssl_prints_without_esc_msb(
    french: SigningRequest, tmp_path: Path
) -> None:
    """`openssl req -noout -subject -nameopt oneline,-esc_msb` on the stored CSR prints the
    line the pages show; OpenSSL's default (the escaped form) is kept for the command line."""
    assert ESCAPED.startswith("C = FR, ST = \\C3\\8Ele-de-France")
    assert FRENCH.human_oneline() == HUMAN
    assert crypto.csr_subject_human(french.csr_pem.encode()) == HUMAN
    assert crypto.human_subject(ESCAPED) == HUMAN
    assert crypto.human_subject(HUMAN) == HUMAN  # readable stays readable
    path = tmp_path / "request.csr"
    path.write_text(french.csr_pem)
    try:
        readable = ["-nameopt", "oneline,-esc_msb"]
        printed = subprocess.run(
            ["openssl", "req", "-in", str(path), "-noout", "-subject", *readable],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except FileNotFoundError:
        pytest.skip("openssl is not installed")
    assert printed.strip() == f"subject={HUMAN}"


def test_the_request_page(french: SigningRequest, member_client: Callable[..., Client]) -> None:
    page = member_client("viewer", french.environment).get(f"/requests/{french.pk}/")
    text = page.content.decode()
    assert f"<code>{escape(HUMAN)}</code>" in text
    _readable(text)


def test_an_imported_csr_in_its_own_order(
    sandbox: Environment, member_client: Callable[..., Client]
) -> None:
    """An imported CSR keeps its attributes' order on the page, in UTF-8 too."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "it@acme.com"),
            x509.NameAttribute(NameOID.COMMON_NAME, "acme.com"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Équipe"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Société"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Orléans"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Île-de-France"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        ]
    )
    key = crypto.generate_private_key()
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    request = services.request_import(
        actor=CLI,
        environment=sandbox,
        purpose="mtls",
        csr_data=csr.public_bytes(serialization.Encoding.PEM),
    )
    text = member_client("viewer", sandbox).get(f"/requests/{request.pk}/").content.decode()
    assert (
        "<code>emailAddress = it@acme.com, CN = acme.com, OU = Équipe, O = Société, "
        "L = Orléans, ST = Île-de-France, C = FR</code>"
    ) in text
    _readable(text)


def test_the_wizard_review(member_client: Callable[..., Client], sandbox: Environment) -> None:
    """The review step shows the subject as it will be, readable."""
    client = member_client("requester", sandbox)
    client.get("/requests/new/")
    client.post("/requests/new/", {"environment": "sandbox", "purpose": "mtls"})
    client.post("/requests/new/key/", {"key_source": "generate"})
    response = client.post("/requests/new/subject/", FRENCH.as_dict())
    assert response["Location"] == "/requests/new/review/"
    text = client.get("/requests/new/review/").content.decode()
    assert escape(HUMAN) in text
    _readable(text)


def test_the_send_preview_and_the_tam_email(
    french: SigningRequest, member_client: Callable[..., Client]
) -> None:
    """The preview on the send page and the email itself (text, HTML, its subject line)."""
    client = member_client("requester", french.environment)
    text = client.get(f"/environments/sandbox/send/?request={french.pk}").content.decode()
    _readable(text)
    composed = tam_email_compose(environment=french.environment, signing_requests=[french])
    assert f"Subject: {HUMAN}" in composed.body_text
    assert escape(HUMAN) in composed.body_html
    assert composed.subject.startswith("Société Générale")
    for part in (composed.subject, composed.body_text, composed.body_html):
        _readable(part)


def test_the_certificate_page(installed: Certificate, member_client: Callable[..., Client]) -> None:
    """The certificate's subject, stored readable since issue 16, and shown so."""
    assert installed.subject == HUMAN
    text = (
        member_client("viewer", installed.environment)
        .get(f"/certificates/{installed.pk}/")
        .content.decode()
    )
    assert f"<code>{escape(HUMAN)}</code>" in text
    _readable(text)


def test_a_certificate_stored_before_issue_16_reads_the_same(
    installed: Certificate, member_client: Callable[..., Client]
) -> None:
    """A row holding OpenSSL's escaped form (no migration rewrote it) is shown readable on its
    page, in the renewal email to the TAM and in the revocation request."""
    Certificate.objects.filter(pk=installed.pk).update(subject=ESCAPED)
    installed.refresh_from_db()
    text = (
        member_client("viewer", installed.environment)
        .get(f"/certificates/{installed.pk}/")
        .content.decode()
    )
    assert f"<code>{escape(HUMAN)}</code>" in text
    _readable(text)

    renewal = tam_renewal_compose(
        certificate=installed,
        now=timezone.now(),
        company="Société Générale",
        ready=None,
        already_sent=None,
    )
    assert f"Subject: {HUMAN}" in renewal.body_text
    assert escape(HUMAN) in renewal.body_html
    _readable(renewal.body_text)
    _readable(renewal.body_html)


def test_the_revocation_request_to_the_tam(
    installed: Certificate, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    Certificate.objects.filter(pk=installed.pk).update(subject=ESCAPED)
    installed.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        revocation_request(actor=CLI, certificate=installed, reason="superseded")
    email = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TAM_REVOCATION).get()
    assert HUMAN in email.body_text
    assert escape(HUMAN) in email.body_html
    _readable(email.body_text)
    _readable(email.body_html)


def test_lists_and_dashboard(
    installed: Certificate, french: SigningRequest, member_client: Callable[..., Client]
) -> None:
    """They name certificates by Common Name; nothing escaped appears on them."""
    client = member_client("viewer", french.environment)
    for path in ("/", "/certificates/", "/requests/"):
        text = client.get(path).content.decode()
        assert path == "/" or "acme.com" in text, path
        _readable(text)


def test_the_audit_log_shows_a_ca_name_in_utf8(admin_client: Client, sandbox: Environment) -> None:
    """A Treezor CA whose name holds accents, set in the settings: its audit event's details
    read "CN=Autorité de certification Trézor"."""
    ca = LocalCA.create(common_name="Autorité de certification Trézor")
    services.environment_update(
        actor=CLI,
        environment=sandbox,
        name=sandbox.name,
        tam_emails=["tam@treezor.example"],
        team_emails=[],
        ca_bundle=ca.bundle_pem(),
    )
    text = admin_client.get("/audit/").content.decode()
    assert "Autorité de certification Trézor" in text
    _readable(text)
