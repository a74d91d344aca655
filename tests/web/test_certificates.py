"""Signed certificates in the browser: upload, the certificate page, downloads, revocation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import crypto, services
from certificates.models import (
    AuditEvent,
    Certificate,
    CompanyProfile,
    Environment,
    Key,
    Revocation,
    SigningRequest,
)
from certificates.services import Actor
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def sandbox_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.api_host = "acme.sandbox.treezor.co"
    sandbox.save()
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    return sandbox


@pytest.fixture
def mtls(sandbox_tam: Environment) -> SigningRequest:
    return services.request_create(actor=CLI, environment=sandbox_tam, purpose="mtls", subject=ACME)


@pytest.fixture
def requester(member_client: Callable[..., Client], sandbox_tam: Environment) -> Client:
    return member_client("requester", sandbox_tam)


@pytest.fixture
def custodian(client: Client, make_member: Callable[..., User], sandbox_tam: Environment) -> Client:
    user = make_member("custodian", sandbox_tam)
    user.set_password("custodian password 1")
    user.save()
    client.post("/login/", {"login": user.username, "password": "custodian password 1"})
    return client


def signed(local_ca: LocalCA, request: SigningRequest, **kwargs: Any) -> Any:
    return local_ca.sign(crypto.parse_csr(request.csr_pem.encode()), **kwargs)


def upload(client: Client, content: bytes, name: str = "cert.pem", **fields: str) -> Any:
    return client.post(
        "/certificates/upload/",
        {"certificate_file": SimpleUploadedFile(name, content), **fields},
        follow=True,
    )


ENCODINGS: dict[str, Callable[[Any, list[Any]], bytes]] = {
    "cert.pem": lambda leaf, chain: crypto.certificates_to_pem([leaf, *chain]),
    "cert.crt": lambda leaf, chain: leaf.public_bytes(serialization.Encoding.DER),
    "bundle.p7b": lambda leaf, chain: pkcs7.serialize_certificates(
        [*chain, leaf], serialization.Encoding.PEM
    ),
    "bundle.p7c": lambda leaf, chain: pkcs7.serialize_certificates(
        [leaf, *chain], serialization.Encoding.DER
    ),
}


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_each_format_treezor_may_send_uploads(
    requester: Client, sandbox_tam: Environment, mtls: SigningRequest, name: str
) -> None:
    """PEM with chain, DER, and PKCS#7 in PEM and DER: each is matched and stored with its
    dates shown as openssl prints them."""
    # A lone DER certificate carries no chain: its issuer must be the bundle's root itself.
    ca = LocalCA.create(with_intermediate=name != "cert.crt")
    sandbox_tam.ca_bundle = ca.bundle_pem().decode()
    sandbox_tam.save()
    leaf = signed(ca, mtls)
    chain = ca.chain()
    response = upload(requester, ENCODINGS[name](leaf, chain), name)
    certificate = Certificate.objects.get()
    assert response.redirect_chain[-1][0] == f"/certificates/{certificate.pk}/"
    page = response.content.decode()
    assert (
        f"Certificate #{certificate.pk} is now in service for Sandbox mTLS (request #{mtls.pk})"
    ) in page
    assert crypto.openssl_dates(leaf).split("\n")[0] in page
    assert certificate.signing_request == mtls


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("stranger", "No signing request"),
        ("expired", "This certificate expired: notAfter="),
        ("other_ca", "does not verify against the Sandbox Treezor CA bundle"),
        ("garbage", "not a certificate"),
        ("csr", "signing request"),
        ("private_key", "private key"),
        ("empty", "Choose the certificate file"),
    ],
)
def test_each_refusal_says_what_to_do_and_stores_nothing(
    requester: Client,
    sandbox_tam: Environment,
    mtls: SigningRequest,
    local_ca: LocalCA,
    make: str,
    message: str,
) -> None:
    """Every kind of wrong upload is refused next to the field; no certificate, no event."""
    sandbox_tam.ca_bundle = local_ca.bundle_pem().decode()
    sandbox_tam.save()
    key_pem = crypto.private_key_to_pem(crypto.generate_private_key())
    contents: dict[str, Callable[[], bytes]] = {
        "stranger": lambda: crypto.certificate_to_pem(
            local_ca.sign(crypto.build_csr(crypto.generate_private_key(), ACME))
        ),
        "expired": lambda: crypto.certificate_to_pem(
            signed(local_ca, mtls, not_before=datetime.now(UTC) - timedelta(days=20), days=10)
        ),
        "other_ca": lambda: crypto.certificate_to_pem(signed(LocalCA.create("Other CA"), mtls)),
        "garbage": lambda: b"\x00\x01\x02 certainly not",
        "csr": lambda: mtls.csr_pem.encode(),
        "private_key": lambda: crypto.certificate_to_pem(signed(local_ca, mtls)) + key_pem,
        "empty": lambda: b"",
    }
    if make == "empty":
        response = requester.post("/certificates/upload/", {}, follow=True)
    else:
        response = upload(requester, contents[make]())
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["certificate_file"])
    assert message.lower() in errors.lower()
    assert key_pem.decode() not in response.content.decode()
    assert not Certificate.objects.exists()
    assert not AuditEvent.objects.filter(action="certificate.uploaded").exists()


def test_the_private_key_refusal_explains_why(
    requester: Client, mtls: SigningRequest, local_ca: LocalCA
) -> None:
    """Pasting a key gets the explanation that keys are never uploaded and must be replaced."""
    key_pem = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
    response = requester.post("/certificates/upload/", {"certificate_text": key_pem})
    errors = " ".join(response.context["form"].errors["certificate_file"])
    assert "never" in errors.lower()
    assert "compromised" in errors.lower() or "new" in errors.lower()


def test_a_key_of_another_environment_or_purpose_is_refused(
    requester: Client, mtls: SigningRequest, local_ca: LocalCA
) -> None:
    """Choosing signature for an mTLS key is refused and names the right request."""
    pem = crypto.certificate_to_pem(signed(local_ca, mtls))
    response = upload(requester, pem, purpose="signature", environment="sandbox")
    errors = " ".join(response.context["form"].errors["certificate_file"])
    assert f"belongs to request #{mtls.pk} for Sandbox mTLS" in errors
    assert not Certificate.objects.exists()


def test_subject_mismatch_and_missing_eku_are_warned_on_the_result(
    requester: Client, mtls: SigningRequest, local_ca: LocalCA
) -> None:
    """The certificate is kept, and the page warns of each difference."""
    other = crypto.Subject(**{**ACME.as_dict(), "common_name": "other.acme.com"})
    pem = crypto.certificate_to_pem(
        signed(local_ca, mtls, subject=other.to_x509_name(), client_auth=False)
    )
    page = upload(requester, pem).content.decode()
    assert "differs from the request" in page
    assert "lacks the client-authentication extended key usage" in page


def test_an_oversized_upload_is_refused_before_parsing(
    requester: Client, mtls: SigningRequest, settings: Any
) -> None:
    """Above the limit, the size alone is reported."""
    settings.CERTDESK_UPLOAD_MAX_BYTES = 100
    response = upload(requester, b"-" * 500)
    assert "the limit is 100" in " ".join(response.context["form"].errors["certificate_file"])


@pytest.mark.parametrize(
    ("role", "upload_status", "page_status"),
    [("viewer", 404, 200), ("requester", 200, 200), ("custodian", 200, 200)],
)
def test_roles_on_upload_and_certificate_pages(
    member_client: Callable[..., Client],
    sandbox_tam: Environment,
    mtls: SigningRequest,
    issue: Callable[..., bytes],
    role: str,
    upload_status: int,
    page_status: int,
) -> None:
    """Viewers see certificates but cannot upload; requesters and custodians can."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    client = member_client(role, sandbox_tam)
    assert client.get("/certificates/upload/").status_code == upload_status
    assert client.get(f"/certificates/{certificate.pk}/").status_code == page_status
    assert client.get(f"/certificates/{certificate.pk}/pem/").status_code == 200
    assert client.get(f"/certificates/{certificate.pk}/chain/").status_code == 200
    for path in ("key/", "compromised/", "revoke/", "destroy-key/", "revocation-confirmed/"):
        status = client.post(f"/certificates/{certificate.pk}/{path}").status_code
        # Custodians act (a form, a redirect); anyone below gets 403.
        assert (status == 403) is (role != "custodian")


def test_another_environment_sees_404_everywhere(
    member_client: Callable[..., Client],
    production: Environment,
    mtls: SigningRequest,
    issue: Callable[..., bytes],
) -> None:
    """A Production custodian gets nothing of a Sandbox certificate."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    client = member_client("custodian", production)
    for path in ("", "pem/", "chain/"):
        assert client.get(f"/certificates/{certificate.pk}/{path}").status_code == 404
    for path in ("key/", "compromised/", "revoke/", "destroy-key/"):
        assert client.post(f"/certificates/{certificate.pk}/{path}").status_code == 404


def test_the_certificate_page_shows_status_dates_chain_and_how_to_use(
    requester: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Status, days left, OpenSSL dates, fingerprint, and curl/requests with real file names."""
    # The clock stands still on a whole second (X.509 times have no fraction): exactly 200 days.
    with time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False):
        uploaded = services.certificate_upload(actor=CLI, data=issue(mtls, days=200))
        certificate = uploaded.certificate
        page = requester.get(f"/certificates/{certificate.pk}/").content.decode()
    assert "Valid" in page
    assert "200 days left" in page
    assert "notBefore=" in page
    assert "notAfter=" in page
    assert crypto.format_fingerprint(certificate.fingerprint) in page
    assert (
        "curl --cert acme.sas_chain_mtls.pem --key acme.sas_privatekey_mtls.pem "
        "https://acme.sandbox.treezor.co/" in page
    )
    assert 'cert=("acme.sas_chain_mtls.pem", "acme.sas_privatekey_mtls.pem")' in page


def test_key_and_pkcs12_downloads_need_a_fresh_password_and_are_recorded(
    custodian: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Within five minutes of login the key and a PKCS#12 download; later, password first."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    key = custodian.post(f"/certificates/{certificate.pk}/key/", {"format": "pem"})
    assert key.content.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert "no-store" in key["Cache-Control"]
    short = custodian.post(
        f"/certificates/{certificate.pk}/key/",
        {"format": "pkcs12", "passphrase": "short"},
        follow=True,
    )
    assert "at least 8" in short.content.decode()
    bundle = custodian.post(
        f"/certificates/{certificate.pk}/key/",
        {"format": "pkcs12", "passphrase": "a good passphrase"},
    )
    assert bundle["Content-Disposition"].endswith('.p12"')
    assert "no-store" in bundle["Cache-Control"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        later = custodian.post(f"/certificates/{certificate.pk}/key/", {"format": "pem"})
        assert later["Location"].startswith("/accounts/reauthenticate/")
    formats = list(
        AuditEvent.objects.filter(action="key.exported").values_list("details__format", flat=True)
    )
    assert sorted(formats) == ["pem", "pkcs12"]


def test_a_pkcs12_download_resumes_after_the_password_without_its_passphrase_stored(
    custodian: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Sudo mode: past five minutes the PKCS#12 download asks for the password, then starts by
    itself with the passphrase typed before; meanwhile the session row never holds that
    passphrase in clear (it is sealed with a key only the browser's cookie holds)."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    url = f"/certificates/{certificate.pk}/key/"
    passphrase = "violet anchor thirty kettles"
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        asked = custodian.post(url, {"format": "pkcs12", "passphrase": passphrase})
        assert asked.status_code == 302
        assert asked["Location"].startswith("/accounts/reauthenticate/")
        stored = Session.objects.get(session_key=custodian.session.session_key)
        assert passphrase not in json.dumps(stored.get_decoded())
        assert "sealed-passphrase" in json.dumps(stored.get_decoded())
        resumed = custodian.post(
            "/accounts/reauthenticate/", {"password": "custodian password 1", "next": url}
        )
    assert resumed.status_code == 200
    assert resumed["Content-Disposition"].endswith('.p12"')
    key, cert, _ = pkcs12.load_key_and_certificates(resumed.content, passphrase.encode())
    assert key is not None
    assert cert is not None
    assert cert.public_bytes(serialization.Encoding.PEM).decode() == certificate.pem
    # The sealing key is dropped with the answer.
    assert resumed.cookies["certdesk_sudo"].value == ""


def test_a_sealed_passphrase_without_its_cookie_is_asked_again(
    custodian: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """If the cookie is gone (another browser replays the session), nothing downloads."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    url = f"/certificates/{certificate.pk}/key/"
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        custodian.post(url, {"format": "pkcs12", "passphrase": "violet anchor thirty kettles"})
        del custodian.cookies["certdesk_sudo"]
        resumed = custodian.post(
            "/accounts/reauthenticate/",
            {"password": "custodian password 1", "next": url},
            follow=True,
        )
    assert "type it again" in resumed.content.decode()
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_the_pkcs12_form_offers_a_generated_passphrase_and_refuses_weak_ones(
    custodian: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """The page offers a strong passphrase generated for this page only (another on reload);
    "aaaaaaaa" is refused with the reason and no download; the offered one downloads."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    offered = [
        custodian.get(f"/certificates/{certificate.pk}/").context["pkcs12_form"]["passphrase"]
        for _ in range(2)
    ]
    first, second = (str(field.value()) for field in offered)
    assert first != second
    assert len(first) >= 20
    page = custodian.get(f"/certificates/{certificate.pk}/").content.decode()
    assert "keeps no copy" in page
    weak = custodian.post(
        f"/certificates/{certificate.pk}/key/",
        {"format": "pkcs12", "passphrase": "aaaaaaaa"},
        follow=True,
    )
    assert "too easy to guess" in weak.content.decode()
    assert "Repeats like &quot;aaa&quot; are easy to guess" in weak.content.decode()
    assert not AuditEvent.objects.filter(action="key.exported").exists()
    bundle = custodian.post(
        f"/certificates/{certificate.pk}/key/", {"format": "pkcs12", "passphrase": first}
    )
    assert bundle["Content-Disposition"].endswith('.p12"')
    assert pkcs12.load_pkcs12(bundle.content, first.encode()).key is not None


def test_renewal_prefills_the_wizard_and_supersedes_on_upload(
    requester: Client, sandbox_tam: Environment, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Renew opens the wizard for the same environment and purpose with the old subject; the
    new certificate's upload makes the old one superseded."""
    old = services.certificate_upload(actor=CLI, data=issue(mtls, days=25)).certificate
    start = requester.get(f"/requests/new/?renews={old.pk}")
    assert start.context["form"].initial == {"environment": "sandbox", "purpose": "mtls"}
    requester.post("/requests/new/", {"environment": "sandbox", "purpose": "mtls"})
    requester.post("/requests/new/key/", {"key_source": "generate"})
    subject = requester.get("/requests/new/subject/").context["form"].initial
    assert subject["common_name"] == "acme.com"
    renewal = services.request_create(
        actor=CLI, environment=sandbox_tam, purpose="mtls", subject=ACME, renews=old
    )
    upload(requester, issue(renewal, days=365))
    page = requester.get(f"/certificates/{old.pk}/").content.decode()
    assert "Superseded" in page
    assert f"request #{renewal.pk}" in page
    new = Certificate.objects.get(signing_request=renewal)
    assert f'replaced by <a href="/certificates/{new.pk}/">certificate #{new.pk}</a>' in page


def test_reporting_a_compromise_emails_the_tam_at_once_without_the_key(
    custodian: Client,
    mtls: SigningRequest,
    issue: Callable[..., bytes],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The key is marked compromised, the certificate revocation-requested, and the urgent
    email (company, environment, purpose, serial, subject, fingerprint) leaves on commit."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    with django_capture_on_commit_callbacks(execute=True):
        response = custodian.post(
            f"/certificates/{certificate.pk}/compromised/",
            {"suspected_since": "2026-01-01", "note": "laptop stolen"},
            follow=True,
        )
    page = response.content.decode()
    assert "Revocation requested" in page
    assert "Start a replacement request" in page
    (message,) = mail.outbox
    assert message.subject.startswith("URGENT: key compromise")
    body = message.body
    for expected in (
        "Acme SAS",
        "Sandbox",
        "mTLS",
        certificate.serial,
        "CN = acme.com",
        crypto.format_fingerprint(certificate.fingerprint),
        "laptop stolen",
    ):
        assert expected in body
    assert "PRIVATE KEY" not in message.message().as_string()
    assert Key.objects.get(pk=mtls.key_id).compromised_at is not None
    revocation = Revocation.objects.get()
    assert (revocation.reason, str(revocation.suspected_since)) == ("key_compromise", "2026-01-01")
    assert revocation.tam_notified_at is not None
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"key.compromised", "certificate.revocation_requested"} <= actions
    again = custodian.post(f"/certificates/{certificate.pk}/key/", {"format": "pem"}, follow=True)
    assert "reported compromised" in again.content.decode()


def test_a_future_suspicion_date_is_refused(
    custodian: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """A compromise suspected since tomorrow is refused next to the field; nothing changes."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    response = custodian.post(
        f"/certificates/{certificate.pk}/compromised/", {"suspected_since": tomorrow}
    )
    assert "future" in " ".join(response.context["form"].errors["suspected_since"])
    assert not Revocation.objects.exists()


def test_revoke_confirm_and_destroy_the_key(
    custodian: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """No longer needed → revocation requested; Treezor confirms → revoked; key destroyed."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    missing_note = custodian.post(f"/certificates/{certificate.pk}/revoke/", {"reason": "other"})
    assert "Say why" in " ".join(missing_note.context["form"].errors["note"])
    custodian.post(f"/certificates/{certificate.pk}/revoke/", {"reason": "cessation_of_operation"})
    assert Revocation.objects.get().reason == "cessation_of_operation"
    today = datetime.now(UTC).date().isoformat()
    page = custodian.post(
        f"/certificates/{certificate.pk}/revocation-confirmed/",
        {"confirmed_on": today},
        follow=True,
    ).content.decode()
    assert "Revoked" in page
    not_confirmed = custodian.post(f"/certificates/{certificate.pk}/destroy-key/", {}, follow=True)
    assert "Tick the box" in not_confirmed.content.decode()
    custodian.post(f"/certificates/{certificate.pk}/destroy-key/", {"confirm": "destroy"})
    key = Key.objects.get(pk=mtls.key_id)
    assert key.encrypted_private_key is None
    assert key.destroyed_at is not None
    assert {"certificate.revoked", "key.destroyed"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_a_key_in_use_cannot_be_destroyed(
    custodian: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Destroying the key of a valid, unrevoked certificate is refused."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    response = custodian.post(
        f"/certificates/{certificate.pk}/destroy-key/", {"confirm": "destroy"}, follow=True
    )
    assert "Only the key of a compromised or revoked certificate" in response.content.decode()
    assert Key.objects.get(pk=mtls.key_id).encrypted_private_key is not None


def test_oversized_pasted_text_is_refused_too(
    requester: Client, mtls: SigningRequest, settings: Any
) -> None:
    """The upload limit holds for pasted text as for files."""
    settings.CERTDESK_UPLOAD_MAX_BYTES = 100
    response = requester.post("/certificates/upload/", {"certificate_text": "A" * 500})
    assert "the limit is 100" in " ".join(response.context["form"].errors["certificate_text"])
    assert not Certificate.objects.exists()


def test_the_certificate_page_is_never_cached(
    requester: Client, mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """The page carries a passphrase generated for it: no browser or proxy may keep a copy."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    response = requester.get(f"/certificates/{certificate.pk}/")
    assert "no-store" in response["Cache-Control"]
