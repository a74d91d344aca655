"""The user guide's screenshots, made from the running application in Chromium.

The guide (docs/) shows the pages as they are: this test walks the first ten minutes of the
README (first run, company name, TAM address, Treezor CA, invitation, first request, sending,
installing) and a compromise report, and saves each screen the guide shows under
docs/assets/screenshots/ (and a copy under var/screenshots/<this test>/, the folder CI keeps).
Run it after changing a page, then commit the images:

    make test PYTEST_ARGS="tests/e2e/test_guide_screenshots.py tests/docs"

The names are tests/docs/guide_screens.py's; tests/docs/test_docs.py checks that the guide
shows no other.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import Certificate, SigningRequest
from tests.docs.guide_screens import GUIDE_SCREENSHOTS, screenshot_path
from tests.support.browser import PASSWORD, SCREENSHOTS, sign_with_treezor
from tests.support.commands import run
from tests.support.environments import migrated_environment
from tests.support.testca import LocalCA

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


class Camera:
    """Saves a named screen where the guide reads it, and a copy where CI keeps artifacts."""

    def __init__(self, page: Page, test_name: str) -> None:
        self.page = page
        self.artifacts = SCREENSHOTS / test_name
        self.taken: set[str] = set()

    def shoot(self, name: str) -> None:
        assert name in GUIDE_SCREENSHOTS, f"{name} is not in tests/docs/guide_screens.py"
        target = screenshot_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, self.artifacts / target.name)
        self.taken.add(name)


def test_the_guide_screenshots(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    """Every screenshot the guide shows is taken from the application as it is now."""
    migrated_environment("Sandbox")
    migrated_environment("Production")
    treezor = LocalCA.create("Treezor Test Root CA", with_intermediate=True)
    url = live_server.url
    camera = Camera(page, "test_the_guide_screenshots")
    page.set_viewport_size(DESKTOP)

    # First run: the operator reads the setup code in the server's log.
    page.goto(url)
    expect(page.get_by_role("heading", name="Welcome to certdesk")).to_be_visible()
    camera.shoot("first-run")
    code = run("setup_code").stdout.splitlines()[0].rsplit(" ", 1)[-1]
    page.get_by_label("Setup code").fill(code)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Email").fill("admin@acme.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the administrator").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    camera.shoot("dashboard-first-run")

    # Company name, then Sandbox's TAM address, team address and Treezor CA.
    page.goto(f"{url}/settings/company/")
    page.get_by_label("Company name").fill("Acme SAS")
    camera.shoot("settings-company")
    page.get_by_role("button", name="Save the company profile").click()
    page.goto(f"{url}/settings/environments/sandbox/edit/")
    page.get_by_label("TAM addresses").fill("tam@treezor.example")
    page.get_by_label("Team addresses").fill("team@acme.example")
    page.get_by_label("CA bundle, pasted").fill(treezor.bundle_pem().decode())
    camera.shoot("settings-environment")
    page.get_by_role("button", name="Save Sandbox").click()
    expect(page.get_by_text("Environment Sandbox saved.")).to_be_visible()

    # Invite a colleague: their own password, their roles from the invitation on.
    page.goto(f"{url}/settings/people/invite/")
    page.get_by_label("Email address").fill("dora@acme.example")
    page.get_by_label("First name").fill("Dora")
    page.get_by_label("Role in Sandbox").select_option("requester")
    camera.shoot("settings-invite")
    page.get_by_role("button", name="Send the invitation").click()
    page.goto(f"{url}/settings/people/")
    expect(page.get_by_text("dora@acme.example").first).to_be_visible()
    camera.shoot("settings-people")

    # The first request: Sandbox mTLS, the key generated here.
    page.goto(f"{url}/requests/new/")
    page.get_by_label("Sandbox").check()
    page.get_by_label("mTLS: client authentication").check()
    camera.shoot("wizard-environment")
    page.get_by_role("button", name="Next: key source").click()
    page.get_by_role("radio", name="Generate the key here (recommended)").check()
    camera.shoot("wizard-key-source")
    page.get_by_role("button", name="Next", exact=True).click()
    page.get_by_label("Country").select_option("FR")
    page.get_by_label("State / Province").fill("Île-de-France")
    page.get_by_label("Locality").fill("Paris")
    page.get_by_label("Organization Name").fill("Acme SAS")
    page.get_by_label("Organizational Unit").fill("IT")
    page.get_by_label("Common Name").fill("acme.com")
    page.get_by_label("Email").fill("it@acme.example")
    camera.shoot("wizard-subject")
    page.get_by_role("button", name="Next: review").click()
    camera.shoot("wizard-review")
    page.get_by_role("button", name="Create the key and CSR").click()
    expect(page.get_by_text("The key and CSR are ready.")).to_be_visible()
    camera.shoot("request-ready")
    signing_request = SigningRequest.objects.get()

    # Send the CSR to the TAM from the preview.
    page.goto(f"{url}/environments/sandbox/send/")
    camera.shoot("send-to-tam")
    page.get_by_role("button", name=re.compile(r"^Send to tam@treezor\.example")).click()
    expect(page.get_by_text("tam@treezor.example").first).to_be_visible()

    # Treezor signs; the certificate is installed and put in service.
    signed = sign_with_treezor(
        treezor, _csr_file(signing_request, tmp_path), tmp_path, "from-treezor.pem"
    )
    page.goto(f"{url}/requests/{signing_request.pk}/")
    page.get_by_role("link", name="Upload the certificate Treezor sent").click()
    camera.shoot("upload-certificate")
    page.get_by_label("Certificate file").set_input_files(str(signed))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("is now in service for")).to_be_visible()
    certificate = Certificate.objects.get()
    page.goto(f"{url}/certificates/{certificate.pk}/")
    camera.shoot("certificate")
    page.goto(url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    camera.shoot("dashboard")
    page.set_viewport_size(PHONE)
    page.goto(url)
    camera.shoot("dashboard-phone")
    page.set_viewport_size(DESKTOP)

    # The key leaks: the compromise report and what the certificate's page shows after it.
    page.goto(f"{url}/certificates/{certificate.pk}/")
    page.get_by_role("link", name="Report a compromised key").click()
    page.get_by_label("What happened").fill("A laptop holding the key was stolen.")
    camera.shoot("report-compromise")
    page.get_by_role("button", name="Report and email the TAM now").click()
    expect(page.get_by_text("Revocation requested").first).to_be_visible()
    camera.shoot("incident")

    # The lists, the audit log, the outbox, the profile and the calendar feed.
    for name, path in [
        ("certificate-list", "/certificates/"),
        ("audit-log", "/audit/"),
        ("outbox", "/outbox/"),
        ("profile", "/profile/"),
    ]:
        page.goto(url + path)
        camera.shoot(name)
    page.goto(f"{url}/calendar/")
    page.get_by_role("button", name="Create my feed URL").click()
    expect(page.get_by_role("heading", name="Your feed URL")).to_be_visible()
    camera.shoot("calendar")

    assert camera.taken == set(GUIDE_SCREENSHOTS), "a screenshot the guide lists was not taken"


def _csr_file(signing_request: SigningRequest, folder: Path) -> Path:
    path = folder / "request.csr.pem"
    path.write_text(signing_request.csr_pem)
    return path
