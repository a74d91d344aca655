"""A requester asks Treezor for a Sandbox mTLS certificate in a real browser."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import CompanyProfile, Membership, SigningRequest
from tests.support.browser import screenshot
from tests.support.environments import migrated_environment

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_wizard_by_its_labels_then_csr_checked_by_openssl_then_sent(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    """Fill the wizard by Treezor's labels, download the CSR, verify it, send it to the TAM."""
    sandbox = migrated_environment("Sandbox")
    migrated_environment("Production")
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    CompanyProfile.objects.update_or_create(pk=1, defaults={"company_name": "Acme SAS"})
    user = User.objects.create_user("rita", password="requester password 1")
    Membership.objects.create(user=user, environment=sandbox, role="requester")

    page.goto(live_server.url + "/login/")
    page.get_by_label("User name or email").fill("rita")
    page.get_by_label("Password").fill("requester password 1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Request a certificate").first.click()

    page.get_by_label("Sandbox").check()
    page.get_by_label("mTLS: client authentication").check()
    page.get_by_role("button", name="Next: key source").click()
    page.get_by_role("radio", name="Generate the key here (recommended)").check()
    page.get_by_role("button", name="Next", exact=True).click()

    page.get_by_label("Country").select_option("FR")
    page.get_by_label("State / Province").fill("Brittany")
    page.get_by_label("Locality").fill("Rennes")
    page.get_by_label("Organization Name").fill("Acme")
    page.get_by_label("Organizational Unit").fill("IT")
    page.get_by_label("Common Name").fill("https://acme.com/")
    page.get_by_label("Email").fill("it@acme.com")
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_text("use 'acme.com' instead")).to_be_visible()
    page.get_by_role("button", name="Use acme.com").click()

    expect(page.get_by_text("CN = acme.com")).to_be_visible()
    page.get_by_role("button", name="Create the key and CSR").click()
    expect(page.get_by_text("The key and CSR are ready.")).to_be_visible()
    screenshot(page, "request-ready")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="acme.sas_csr_mtls.pem").click()
    download = download_info.value
    assert download.suggested_filename == "acme.sas_csr_mtls.pem"
    csr_path = tmp_path / download.suggested_filename
    download.save_as(csr_path)
    verify = subprocess.run(
        ["openssl", "req", "-in", csr_path, "-noout", "-verify", "-subject"],
        capture_output=True,
        text=True,
    )
    assert "verify OK" in verify.stdout + verify.stderr
    assert "CN = acme.com" in verify.stdout

    page.get_by_role("link", name="Send to the TAM").click()
    expect(page.get_by_text("acme.sas_csr_mtls.pem", exact=True)).to_be_visible()
    page.get_by_role("button", name="Send to tam@treezor.example").click()
    expect(page.get_by_text("the CSRs are marked as sent")).to_be_visible()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["tam@treezor.example"]
    ((name, content, _),) = message.attachments
    assert name == "acme.sas_csr_mtls.pem"
    assert content == csr_path.read_text()
    assert SigningRequest.objects.get().status == "sent"
    # The email's state, "Sent to the TAM just now" (issue 16), not the dashboard's other lines.
    expect(page.locator(".tam-email-sent").first).to_contain_text("Sent to the TAM")
