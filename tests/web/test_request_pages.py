"""A request's page: downloads by role, the key behind a fresh password, marking it sent."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from certificates import services
from certificates.models import AuditEvent, CompanyProfile, Environment, SigningRequest
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def mtls(sandbox: Environment) -> SigningRequest:
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)


@pytest.mark.parametrize(
    ("role", "page", "csr", "key_button"),
    [
        ("viewer", 200, 200, False),
        ("requester", 200, 200, False),
        ("custodian", 200, 200, True),
    ],
)
def test_each_role_sees_the_page_and_the_csr_and_only_custodians_the_key(
    member_client: Callable[..., Client],
    sandbox: Environment,
    mtls: SigningRequest,
    role: str,
    page: int,
    csr: int,
    key_button: bool,
) -> None:
    """Every member sees the request and downloads its CSR; the key button is for custodians."""
    client = member_client(role, sandbox)
    response = client.get(f"/requests/{mtls.pk}/")
    assert response.status_code == page
    assert (b"Download the private key" in response.content) is key_button
    download = client.get(f"/requests/{mtls.pk}/csr/")
    assert download.status_code == csr
    assert download["Content-Disposition"] == 'attachment; filename="acme.sas_csr_mtls.pem"'
    assert download.content.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")


def test_non_members_and_other_environments_get_404(
    member_client: Callable[..., Client], production: Environment, mtls: SigningRequest
) -> None:
    """A Production custodian learns nothing of a Sandbox request: 404 on page and files."""
    client = member_client("custodian", production)
    for path in (f"/requests/{mtls.pk}/", f"/requests/{mtls.pk}/csr/"):
        assert client.get(path).status_code == 404
    assert client.post(f"/requests/{mtls.pk}/key/").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "requester"])
def test_viewers_and_requesters_cannot_download_the_key(
    member_client: Callable[..., Client], sandbox: Environment, mtls: SigningRequest, role: str
) -> None:
    """The key download answers 403 to members below custodian, and records nothing."""
    response = member_client(role, sandbox).post(f"/requests/{mtls.pk}/key/")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_the_key_download_asks_for_the_password_after_five_minutes(
    client: Client, make_member: Callable[..., User], sandbox: Environment, mtls: SigningRequest
) -> None:
    """Right after login the key downloads (no-store, audited); later the password is asked,
    and once typed the download goes on."""
    custodian = make_member("custodian", sandbox)
    custodian.set_password("custodian password 1")
    custodian.save()
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        client.post("/login/", {"login": custodian.username, "password": "custodian password 1"})
        response = client.post(f"/requests/{mtls.pk}/key/", {"format": "pem"})
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert response["Content-Disposition"] == (
            'attachment; filename="acme.sas_privatekey_mtls.pem"'
        )
        assert response.content.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        later = client.post(f"/requests/{mtls.pk}/key/", {"format": "pem"})
        assert later.status_code == 302
        key_url = f"/requests/{mtls.pk}/key/"
        assert later["Location"] == "/accounts/reauthenticate/?next=" + key_url.replace("/", "%2F")
        wrong = client.post("/accounts/reauthenticate/", {"password": "nope", "next": key_url})
        assert "That is not your password" in wrong.content.decode()
        # The right password resumes the download that was asked for: no second click.
        right = client.post(
            "/accounts/reauthenticate/", {"password": "custodian password 1", "next": key_url}
        )
        assert right.status_code == 200
        assert right.content.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert AuditEvent.objects.filter(action="key.exported", actor=custodian).count() == 2


def test_reauthentication_never_redirects_off_site(client: Client, admin_user: User) -> None:
    """A crafted next= pointing elsewhere lands on the dashboard instead."""
    client.force_login(admin_user)
    response = client.post(
        "/accounts/reauthenticate/",
        {"password": "correct horse battery", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_mark_sent_by_hand_records_the_date(
    member_client: Callable[..., Client], sandbox: Environment, mtls: SigningRequest
) -> None:
    """A requester records the date they emailed the CSR; a future date is refused."""
    client = member_client("requester", sandbox)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(
        f"/requests/{mtls.pk}/sent-by-hand/", {"sent_on": tomorrow.isoformat()}, follow=True
    )
    assert "cannot be in the future" in response.content.decode()
    mtls.refresh_from_db()
    assert mtls.status == "ready"
    today = timezone.localdate()
    client.post(f"/requests/{mtls.pk}/sent-by-hand/", {"sent_on": today.isoformat()})
    mtls.refresh_from_db()
    assert mtls.status == "sent"
    assert timezone.localdate(mtls.sent_at) == today
    assert AuditEvent.objects.filter(action="request.marked_sent").count() == 1
    bad = client.post(f"/requests/{mtls.pk}/sent-by-hand/", {"sent_on": "28/11/2026"}, follow=True)
    assert "Enter the date as YYYY-MM-DD" in bad.content.decode()


def test_a_viewer_cannot_mark_sent(
    member_client: Callable[..., Client], sandbox: Environment, mtls: SigningRequest
) -> None:
    """Marking sent is a requester's action: 403 for a viewer, nothing changes."""
    response = member_client("viewer", sandbox).post(
        f"/requests/{mtls.pk}/sent-by-hand/", {"sent_on": timezone.localdate().isoformat()}
    )
    assert response.status_code == 403
    mtls.refresh_from_db()
    assert mtls.status == "ready"


def test_the_archive_holds_every_csr_the_environment_needs_and_no_key(
    member_client: Callable[..., Client], sandbox: Environment, mtls: SigningRequest
) -> None:
    """With the signature set required, the zip waits for both CSRs, then holds both."""
    sandbox.signature_required = True
    sandbox.save()
    client = member_client("viewer", sandbox)
    assert client.get("/environments/sandbox/csrs.zip")["Location"] == "/"
    services.request_create(actor=CLI, environment=sandbox, purpose="signature", subject=ACME)
    response = client.get("/environments/sandbox/csrs.zip")
    assert response["Content-Disposition"] == 'attachment; filename="acme.sas_csrs_sandbox.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["acme.sas_csr_mtls.pem", "acme.sas_csr_signature.pem"]
    for name in archive.namelist():
        content = archive.read(name)
        assert content.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
        assert b"PRIVATE KEY" not in content
