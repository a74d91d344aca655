"""The whole journey, as a user lives it, in Chromium against a real mTLS server.

First run → company profile and Sandbox TAM → wizard → Treezor (a local CA) signs the CSR →
upload → dashboard → key and certificate downloaded (password typed again) → curl and requests
authenticate to a server that requires client certificates → the clock moves into the renewal
window: TAM renewal email carrying the renewal CSR certdesk prepared (new key) and owner reminder
→ Treezor's answer installed → the old certificate is superseded → its key reported
compromised → the urgent TAM email.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import Certificate, Key, SigningRequest
from tests.support.browser import (
    PASSWORD,
    download,
    log_in,
    menu,
    screenshot,
    sign_with_treezor,
    upload_certificate,
    wizard_generate,
)
from tests.support.commands import run
from tests.support.environments import migrated_environment
from tests.support.mtls_server import mtls_server
from tests.support.testca import LocalCA

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_whole_journey(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    """Every step a user takes, from the first run to a compromise report, works end to end."""
    migrated_environment("Sandbox")
    migrated_environment("Production")
    treezor = LocalCA.create("Treezor Test Root CA", with_intermediate=True)
    url = live_server.url
    start = datetime.now(UTC)

    # First run: the first administrator, with the setup code the operator reads on the server.
    page.goto(url)
    code = run("setup_code").stdout.splitlines()[0].rsplit(" ", 1)[-1]
    page.get_by_label("Setup code").fill(code)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Email").fill("admin@acme.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the administrator").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # Company profile and the Sandbox TAM, CA bundle and team address.
    menu(page, "Settings").click()
    page.get_by_role("link", name="Edit the company profile").click()
    page.get_by_label("Company name").fill("Acme SAS")
    page.get_by_role("button", name="Save the company profile").click()
    menu(page, "Settings").click()
    page.get_by_role("link", name="Edit Sandbox").click()
    page.get_by_label("TAM addresses").fill("tam@treezor.example")
    page.get_by_label("Team addresses").fill("team@acme.example")
    page.get_by_label("CA bundle, pasted").fill(treezor.bundle_pem().decode())
    page.get_by_role("button", name="Save Sandbox").click()
    expect(page.get_by_text("No TAM address")).to_have_count(0)

    # The wizard for Sandbox mTLS, then the CSR to Treezor.
    menu(page, "New request").click()
    page.get_by_label("Sandbox").check()
    page.get_by_label("mTLS: client authentication").check()
    page.get_by_role("button", name="Next: key source").click()
    wizard_generate(page, fill_subject=True)
    csr = download(page, tmp_path, page.get_by_role("link", name="acme.sas_csr_mtls.pem").click)
    signed = sign_with_treezor(treezor, csr, tmp_path, "from-treezor.pem")

    # Upload; the dashboard shows notAfter and the days left.
    upload_certificate(page, signed)
    first = Certificate.objects.get()
    menu(page, "Dashboard").click()
    expect(page.get_by_text(f"notAfter {first.not_after:%Y-%m-%d}")).to_be_visible()
    expect(page.get_by_text("days left").first).to_be_visible()
    screenshot(page, "dashboard")

    # Key and certificate downloads; the key asks for the password again after five minutes,
    # then the download goes on by itself (sudo mode).
    page.goto(f"{url}/certificates/{first.pk}/")
    screenshot(page, "certificate")
    chain = download(page, tmp_path, page.get_by_role("link", name="acme.sas_chain_mtls.pem").click)
    with time_machine.travel(start + timedelta(minutes=7), tick=True):
        page.get_by_role("button", name="Download acme.sas_privatekey_mtls.pem").click()
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        key = download(page, tmp_path, page.get_by_role("button", name="Confirm").click)
    assert key.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")

    # A server that requires client certificates accepts these files, and refuses without.
    with mtls_server(treezor) as (server_url, server_ca):
        curl = ["curl", "--silent", "--show-error", "--cacert", str(server_ca), server_url]
        accepted = subprocess.run(
            [*curl[:-1], "--cert", str(chain), "--key", str(key), server_url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert accepted.returncode == 0, accepted.stderr
        assert accepted.stdout == "hello acme.com\n"
        refused = subprocess.run(curl, capture_output=True, text=True, timeout=30)
        assert refused.returncode != 0
        response = requests.get(
            server_url, cert=(str(chain), str(key)), verify=str(server_ca), timeout=30
        )
        assert response.text == "hello acme.com\n"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server_url, verify=str(server_ca), timeout=30)

    # Inside the renewal window: the TAM renewal email and the owners' reminder.
    later = first.not_after - timedelta(days=25)
    with time_machine.travel(later, tick=True):
        mail.outbox.clear()
        call_command("send_reminders")
        subjects = sorted(message.subject for message in mail.outbox)
        assert any("renew" in subject.lower() for subject in subjects), subjects
        assert any("25 days" in subject for subject in subjects), subjects
        tam = next(m for m in mail.outbox if m.to == ["tam@treezor.example"])
        assert first.serial in tam.body
        assert any("team@acme.example" in m.to for m in mail.outbox)

        # certdesk prepared the renewal itself (Sandbox's default): a new key, the old subject,
        # its CSR attached to the TAM's email; what is left is installing Treezor's answer.
        renewal = SigningRequest.objects.get(renews=first)
        assert renewal.status == SigningRequest.Status.SENT
        assert renewal.key.fingerprint != first.signing_request.key.fingerprint
        assert [a[0] for a in tam.attachments] == ["acme.sas_csr_mtls.pem"]
        log_in(page, url)
        page.goto(f"{url}/requests/{renewal.pk}/")
        new_csr = download(
            page, tmp_path, page.get_by_role("link", name="acme.sas_csr_mtls.pem").click
        )
        upload_certificate(page, sign_with_treezor(treezor, new_csr, tmp_path, "renewed.pem"))

        page.goto(f"{url}/certificates/{first.pk}/")
        expect(page.locator(".status-badge")).to_contain_text("Superseded")

        # The old key leaks: report it; the urgent email goes out at once.
        mail.outbox.clear()
        page.get_by_role("link", name="Report a compromised key").click()
        page.get_by_label("What happened").fill("old laptop lost")
        page.get_by_role("button", name="Report and email the TAM now").click()
        expect(page.locator(".status-badge")).to_contain_text("Revocation requested")
        # The TAM's urgent email, and (issue 16) the notice to the team and custodians.
        (urgent,) = [m for m in mail.outbox if m.to == ["tam@treezor.example"]]
        (notice,) = [m for m in mail.outbox if m is not urgent]
        assert "team@acme.example" in notice.to
        assert "PRIVATE KEY" not in notice.message().as_string()
        assert urgent.subject.startswith("URGENT: key compromise")
        assert first.serial in urgent.body
        assert "PRIVATE KEY" not in urgent.message().as_string()
        assert Key.objects.get(pk=first.signing_request.key_id).compromised_at is not None
