"""The pages of the emails to the TAM in Chromium (issue 16), at 1280 and 390 px, with a
screenshot of each under var/screenshots/<test-name>/: the send preview with its "Message to
your TAM" (the message in the previewed body, Cc and Reply-To shown, a refusal next to the field
and above it, the field as wide as its form), and Settings warning that an environment would
remind nobody, inside that environment's card."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, FloatRect, Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates import crypto, services
from certificates.models import Profile
from tests.support.accounts import log_in_as
from tests.support.browser import PASSWORD, SCREENSHOTS
from tests.support.environments import migrated_environment
from tests.support.subjects import ACME

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
MESSAGE = "Hello Camille,\nthis CSR replaces the one of Monday (wrong OU)."


def _box(page: Page, selector: str) -> FloatRect:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def _setup() -> None:
    services.company_profile_update(actor=services.Actor.cli(), company_name="Acme SAS")
    migrated_environment("Sandbox")
    production = migrated_environment("Production")
    production.tam_emails = ["tam@treezor.example"]
    production.team_emails = ["pki-team@acme.example"]
    production.save()
    admin = User.objects.create_superuser(
        "admin", "admin@acme.example", PASSWORD, first_name="Alice", last_name="Martin"
    )
    Profile.objects.create(user=admin, phone="+33 1 23 45 67 89", receives_reminders=False)
    services.request_create(
        actor=services.Actor.cli(), environment=production, purpose="mtls", subject=ACME
    )


def test_the_send_preview_with_a_message_to_the_tam(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> None:
    _setup()
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    key = crypto.private_key_to_pem(crypto.generate_private_key()).decode("ascii")
    for name, (width, height) in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in_as(page, live_server.url, "admin", PASSWORD)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        page.goto(live_server.url + "/environments/production/send/")
        page.get_by_label("Message to your TAM").fill(MESSAGE)
        page.get_by_role("button", name="Update the preview").click()
        body = page.locator("pre.email-body")
        expect(body).to_contain_text("Hello Camille,\nthis CSR replaces the one of Monday")
        expect(body).to_contain_text("Alice Martin, Acme SAS\nPhone: +33 1 23 45 67 89")
        expect(page.locator("dd", has_text="pki-team@acme.example").first).to_be_visible()
        page.screenshot(path=str(folder / f"send-preview-{name}.png"), full_page=True)
        assert page.evaluate(FITS), f"the send preview scrolls sideways at {width} px"
        # The message field spans its form like the other blocks, within the screen.
        field, form = _box(page, "#id_message"), _box(page, "main form")
        assert field["x"] >= form["x"] - 1
        assert field["x"] + field["width"] <= min(form["x"] + form["width"], width) + 1

        page.get_by_label("Message to your TAM").fill(f"the key:\n{key}")
        page.get_by_role("button", name="Send to tam@treezor.example").click()
        error = page.locator("#id_message_error")
        expect(error).to_contain_text("carries private-key material")
        expect(page.get_by_label("Message to your TAM")).to_have_value("")
        assert "PRIVATE KEY" not in page.content()
        # The refusal is next to its field: right above it, in the same field block.
        error_box, field = _box(page, "#id_message_error"), _box(page, "#id_message")
        assert 0 <= field["y"] - (error_box["y"] + error_box["height"]) <= 24
        page.screenshot(path=str(folder / f"send-refused-{name}.png"), full_page=True)
        assert page.evaluate(FITS)
        context.close()


def test_settings_warns_that_an_environment_would_remind_nobody(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> None:
    """Sandbox has no owner and no team address, and the administrator turned reminders off:
    the warning is in Sandbox's card (below its heading), not in Production's."""
    _setup()
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in_as(page, live_server.url, "admin", PASSWORD)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        page.goto(live_server.url + "/settings/")
        warning = page.get_by_text(
            "Nobody will be reminded for Sandbox: give someone the requester"
        )
        expect(warning).to_be_visible()
        expect(page.get_by_text("Nobody will be reminded for Production")).to_have_count(0)
        card = page.locator("article", has=page.get_by_role("heading", name="Sandbox"))
        expect(card.locator(".nobody-reminded")).to_have_count(1)
        heading, note = (
            _box(page, "article:has(.nobody-reminded) h3"),
            _box(page, ".nobody-reminded"),
        )
        assert note["y"] >= heading["y"] + heading["height"] - 1
        page.screenshot(path=str(folder / f"settings-{name}.png"), full_page=True)
        assert page.evaluate(FITS), f"Settings scrolls sideways at {width} px"
        page.get_by_role("link", name="give someone the requester or custodian role").click()
        expect(page.get_by_role("heading", name="Members of Sandbox")).to_be_visible()
        expect(page.locator(".nobody-reminded")).to_be_visible()
        context.close()
