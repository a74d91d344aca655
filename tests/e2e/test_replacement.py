"""Revoke and replace in Chromium: a compromised Production key is reported, Treezor's
confirmation recorded, and the replacement's certificate installed; every page then says the
same thing about which certificate is in service. Replacing a good certificate asks first."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates import crypto, selectors, services
from certificates.models import Certificate, SigningRequest
from certificates.services import Actor
from tests.support.browser import PASSWORD, download, log_in, menu, screenshot, wizard_generate
from tests.support.environments import migrated_environment, trusting
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def upload(page: Page, path: Path) -> None:
    menu(page, "Upload certificate").click()
    page.get_by_label("Certificate file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()


def test_report_confirm_and_replace_a_compromised_certificate(
    page: Page, live_server: LiveServer, tmp_path: Path, local_ca: LocalCA
) -> None:
    """The review's scenario, through the browser, ending with one story on every page."""
    User.objects.create_superuser("admin", "admin@acme.example", PASSWORD)
    production = trusting(migrated_environment("Production"), local_ca)
    production.tam_emails = ["tam@treezor.example"]
    production.save()
    cli = Actor.cli()
    request = services.request_create(
        actor=cli, environment=production, purpose="mtls", subject=ACME
    )
    leaf = local_ca.sign(crypto.parse_csr(request.csr_pem.encode()), days=400)
    old = services.certificate_upload(actor=cli, data=crypto.certificate_to_pem(leaf)).certificate
    url = live_server.url
    log_in(page, url)

    # The key leaks: reported, the TAM emailed at once.
    page.goto(f"{url}/certificates/{old.pk}/")
    page.get_by_role("link", name="Report a compromised key").click()
    page.get_by_label("What happened").fill("laptop stolen")
    page.get_by_role("button", name="Report and email the TAM now").click()
    expect(page.get_by_text("Revocation requested").first).to_be_visible()
    (urgent,) = mail.outbox
    assert urgent.subject.startswith("URGENT: key compromise")

    # Treezor confirms; the certificate is revoked, and still the one in service until replaced.
    page.get_by_role("button", name="Treezor confirmed the revocation").click()
    expect(page.get_by_text("Recorded: Treezor revoked the certificate.")).to_be_visible()
    assert selectors.certificate_in_service(environment=production, purpose="mtls") == old

    # The replacement: a new key, the old subject; Treezor signs; upload needs no question.
    page.get_by_role("link", name="Start a replacement request").click()
    page.get_by_role("button", name="Next: key source").click()
    wizard_generate(page, fill_subject=False)
    replacement = SigningRequest.objects.get(renews=old)
    csr = download(page, tmp_path, page.get_by_role("link", name="company_csr_mtls.pem").click)
    # It expires before the compromised one would have: dates must not bring the old one back.
    signed = tmp_path / "replacement.pem"
    signed.write_bytes(
        crypto.certificate_to_pem(local_ca.sign(crypto.parse_csr(csr.read_bytes()), days=200))
    )
    upload(page, signed)
    new = Certificate.objects.get(signing_request=replacement)
    expect(
        page.get_by_text(f"Certificate #{new.pk} is now in service for Production mTLS")
    ).to_be_visible()
    expect(page.get_by_text(f"replaces certificate #{old.pk}").first).to_be_visible()

    # Every page tells the same story.
    page.goto(f"{url}/certificates/{old.pk}/")
    expect(page.locator(".status-badge")).to_have_text("Revoked")
    expect(page.locator("p.superseded")).to_contain_text(f"replaced by certificate #{new.pk}")
    menu(page, "Dashboard").click()
    production_row = page.get_by_role("row").filter(has_text="Production")
    expect(production_row.get_by_text("Valid").first).to_be_visible()
    expect(production_row.get_by_text("Revoked")).to_have_count(0)
    menu(page, "Certificates").click()
    expect(page.get_by_role("row").filter(has_text="in service")).to_have_count(1)
    screenshot(page, "replacement-list")

    # A third certificate over the good one: asked first, installed only when confirmed.
    third_request = services.request_create(
        actor=cli, environment=production, purpose="mtls", subject=ACME
    )
    third = tmp_path / "third.pem"
    third.write_bytes(
        crypto.certificate_to_pem(local_ca.sign(crypto.parse_csr(third_request.csr_pem.encode())))
    )
    upload(page, third)
    expect(page.get_by_role("heading", name="Confirm before installing")).to_be_visible()
    expect(
        page.get_by_text(f"Production mTLS already has certificate #{new.pk}, valid until")
    ).to_be_visible()
    screenshot(page, "replace-confirmation")
    assert not Certificate.objects.filter(signing_request=third_request).exists()
    page.get_by_label("Install this certificate and take the other one out of service").check()
    page.get_by_role("button", name="Install the certificate").click()
    installed = Certificate.objects.get(signing_request=third_request)
    expect(page.get_by_text(f"replaces certificate #{new.pk}").first).to_be_visible()
    assert selectors.certificate_in_service(environment=production, purpose="mtls") == installed
