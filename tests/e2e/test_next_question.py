"""Pages that answer the next question (issue 16), in Chromium at 390 and 1280 px.

The first-run checklist on a new certdesk, then on a used one the "Needs attention" summary,
a compromised certificate's incident view (its next action the main button at the top), the
certificate list's search and its one-click "show the superseded and revoked", and the audit
log in words with its CSV export. Each page fits the screen without scrolling sideways, axe
finds nothing on it, and its screenshots are kept under var/screenshots/<test-name>/.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import Revocation
from certificates.services import Actor
from certificates.services.revocations import revocation_confirm, revocation_report_compromise
from tests.support.a11y import axe_context, axe_violations, describe
from tests.support.browser import SCREENSHOTS
from tests.support.environments import migrated_environment
from tests.support.site_tour import HEIGHT, PASSWORD, WIDTHS, build_site, log_in
from tests.support.testca import LocalCA

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def folder_of(request: pytest.FixtureRequest) -> Path:
    folder: Path = SCREENSHOTS / str(request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_page(page: Page, folder: Path, name: str, problems: list[str]) -> None:
    """Screenshot, then the two properties every page keeps: it fits, and axe is silent."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    if not page.evaluate(FITS):
        problems.append(f"{name} scrolls sideways ({page.url})")
    violations = axe_violations(page)
    if violations:
        problems.append(describe(violations, where=f"{name} ({page.url})"))


def test_a_new_certdesk_shows_its_checklist_with_a_link_per_step(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> None:
    """Five steps to do, each with its link, above everything else on the dashboard."""
    User.objects.create_superuser("admin", "admin@acme-fintech.example", PASSWORD)
    migrated_environment("Sandbox")
    migrated_environment("Production")
    folder = folder_of(request)
    problems: list[str] = []
    for width_name, width in WIDTHS.items():
        context = axe_context(browser, width=width, height=HEIGHT[width_name])
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, live_server.url, "admin")
        page.goto(live_server.url + "/")  # without the login's message: this page's own
        checklist = page.get_by_role("region", name="Getting started")
        expect(checklist).to_be_visible()
        expect(checklist.get_by_role("listitem")).to_have_count(5)
        for link in (
            "Set the company name",
            "Add a TAM address to Sandbox",
            "Add the CA bundle to Sandbox",
            "Invite someone",
            "Request a certificate",
        ):
            expect(checklist.get_by_role("link", name=link)).to_be_visible()
        # At the top: before the environments' table.
        checklist_box = checklist.bounding_box()
        table_box = page.locator("table.grid").bounding_box()
        assert checklist_box is not None
        assert table_box is not None
        assert checklist_box["y"] < table_box["y"]
        check_page(page, folder, f"dashboard-checklist-{width_name}", problems)
        checklist.get_by_role("link", name="Set the company name").click()
        expect(page).to_have_url(f"{live_server.url}/settings/company/")
        context.close()
    assert not problems, "\n\n".join(problems)


def test_a_used_certdesk_answers_the_next_question_on_every_page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> None:
    """Needs attention, the incident view, search and hidden rows, the audit log in words."""
    site = build_site(LocalCA.create("Treezor Test Root CA", with_intermediate=True))
    certificate = site.certificate
    revocation_report_compromise(
        actor=Actor.cli(), certificate=certificate, suspected_since=date.today(), note="leaked"
    )
    # Treezor revoked the superseded one: the list hides it until asked.
    revocation_confirm(
        actor=Actor.cli(),
        revocation=Revocation.objects.get(certificate=site.revoked),
        confirmed_on=date.today(),
    )
    url = live_server.url
    folder = folder_of(request)
    problems: list[str] = []
    for width_name, width in WIDTHS.items():
        height = HEIGHT[width_name]
        context = axe_context(browser, width=width, height=height)
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, url, "admin")
        page.goto(url + "/")  # without the login's message: this page's own

        # The dashboard: set up already, so what waits instead of the checklist.
        expect(page.get_by_role("region", name="Getting started")).to_have_count(0)
        attention = page.get_by_role("region", name="Needs attention")
        expect(attention).to_be_visible()
        expect(attention.get_by_role("link", name="1 CSRs not sent")).to_be_visible()
        check_page(page, folder, f"dashboard-attention-{width_name}", problems)

        # The compromised certificate: the replacement is the main button, in the first screen.
        page.goto(f"{url}/certificates/{certificate.pk}/")
        incident = page.get_by_role("region", name="Compromised key: what is left to do")
        expect(incident).to_be_visible()
        button = incident.get_by_role("link", name="Start a replacement request")
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= height, f"the main button is below the fold ({box})"
        facts = page.locator("dl.facts").bounding_box()
        assert facts is not None
        assert box["y"] < facts["y"]
        expect(incident.get_by_text("TAM emailed")).to_be_visible()
        expect(page.get_by_role("heading", name="How to use")).to_have_count(0)
        check_page(page, folder, f"incident-{width_name}", problems)

        # The certificate list: a serial typed as OpenSSL prints it finds its certificate.
        page.goto(f"{url}/certificates/")
        serial = certificate.serial.lower()
        typed = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2))
        page.get_by_role("searchbox", name="Search").fill(typed)
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("table.list-table tbody tr")).to_have_count(1)
        page.goto(f"{url}/certificates/")
        expect(page.get_by_text("1 superseded or revoked certificate not shown.")).to_be_visible()
        page.get_by_role("link", name="Show it", exact=True).click()
        expect(page).to_have_url(f"{url}/certificates/?show=all")
        expect(page.locator(".status-badge", has_text="Revoked")).to_be_visible()
        check_page(page, folder, f"certificates-all-{width_name}", problems)

        # The audit log: words, links, and its export.
        page.goto(f"{url}/audit/")
        expect(
            page.locator("table.audit td", has_text="Key reported compromised").first
        ).to_be_visible()
        check_page(page, folder, f"audit-log-{width_name}", problems)
        with page.expect_download() as info:
            page.get_by_role("link", name="Download these events (CSV)").click()
        saved = folder / f"audit-log-{width_name}.csv"
        info.value.save_as(saved)
        assert saved.read_text(encoding="utf-8-sig").startswith("Time (UTC),Person,From")
        context.close()
    assert not problems, "\n\n".join(problems)
