"""Text as people write it, in Chromium (issue 16), at 1280 and 390 px, with a screenshot of each
page under var/screenshots/<test-name>/:

- the certificate page: the Common Name in the tab's title; the subject in UTF-8
  ("Île-de-France"); each date in words with the relative time beside it and the OpenSSL form
  in the same row of facts, within the screen;
- the request page: "Sent by hand on <day>", no hour;
- the Calendar page: the explanation of ``?alarm=N`` and the feed URL offered with and without
  a reminder, both within the screen.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates import crypto, services
from certificates.models import CompanyProfile, SigningRequest
from tests.support.accounts import log_in_as
from tests.support.browser import PASSWORD, SCREENSHOTS
from tests.support.environments import migrated_environment, trusting
from tests.support.testca import LocalCA

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
CLI = services.Actor.cli()
FRENCH = crypto.Subject(
    country="FR",
    state="Île-de-France",
    locality="Orléans",
    organization="Société Générale",
    organizational_unit="Équipe Sécurité",
    common_name="acme.com",
    email="it@acme.com",
)
HUMAN_DATE = re.compile(
    r"^\d{1,2} (January|February|March|April|May|June|July|August|"
    r"September|October|November|December) \d{4}$"
)


def _box(page: Page, locator: str) -> dict[str, float]:
    box = page.locator(locator).first.bounding_box()
    assert box is not None, locator
    return {key: float(box[key]) for key in ("x", "y", "width", "height")}  # type: ignore[literal-required]


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 1
        and inner["y"] >= outer["y"] - 1
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
    )


def _setup(local_ca: LocalCA) -> tuple[int, SigningRequest]:
    CompanyProfile.objects.filter(pk=1).update(company_name="Société Générale")
    sandbox = trusting(migrated_environment("Sandbox"), local_ca)
    migrated_environment("Production")
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    User.objects.create_superuser("admin", "admin@acme.example", PASSWORD)
    installed = services.request_create(
        actor=CLI, environment=sandbox, purpose="mtls", subject=FRENCH
    )
    leaf = local_ca.sign(crypto.parse_csr(installed.csr_pem.encode()), days=92)
    certificate = services.certificate_upload(
        actor=CLI, data=crypto.certificate_to_pem(leaf)
    ).certificate
    by_hand = services.request_create(
        actor=CLI, environment=sandbox, purpose="signature", subject=FRENCH
    )
    services.request_mark_sent(actor=CLI, signing_request=by_hand, sent_on=date.today())
    return certificate.pk, by_hand


def test_text_as_people_write_it(
    browser: Browser,
    live_server: LiveServer,
    local_ca: LocalCA,
    request: pytest.FixtureRequest,
) -> None:
    certificate_pk, by_hand = _setup(local_ca)
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in_as(page, live_server.url, "admin", PASSWORD)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        # The certificate page.
        page.goto(f"{live_server.url}/certificates/{certificate_pk}/")
        expect(page).to_have_title(re.compile(r"^acme\.com · Sandbox mTLS certificate "))
        subject = page.locator("dt:text-is('Subject') + dd code")
        expect(subject).to_contain_text("ST = Île-de-France, L = Orléans")
        assert "\\C3" not in page.inner_text("main")
        for label, openssl in (("Valid from", "notBefore="), ("Valid until", "notAfter=")):
            row = f"dt:text-is('{label}') + dd"
            human = page.locator(f"{row} time").inner_text()
            assert HUMAN_DATE.match(human), human
            relative = page.locator(f"{row} .relative").inner_text()
            assert re.fullmatch(r"\((in .+|.+ ago|just now)\)", relative), relative
            expect(page.locator(f"{row} pre")).to_have_text(re.compile(f"^{openssl}"))
            # Beside each other: the words, the relative time and the OpenSSL form are in
            # the same row of facts, one under the other, within the screen.
            cell = _box(page, row)
            date_box, pre_box = _box(page, f"{row} time"), _box(page, f"{row} pre")
            assert _inside(date_box, cell), (label, date_box, cell)
            assert _inside(pre_box, cell), (label, pre_box, cell)
            assert pre_box["y"] >= date_box["y"]
            assert pre_box["x"] + pre_box["width"] <= width, (label, pre_box)
            label_box = _box(page, f"dt:text-is('{label}')")
            assert abs(label_box["y"] - cell["y"]) < 40 or label_box["y"] < cell["y"]
        page.screenshot(path=str(folder / f"certificate-{name}.png"), full_page=True)

        # The request page of a CSR sent by hand.
        page.goto(f"{live_server.url}/requests/{by_hand.pk}/")
        status = page.locator("p.status")
        expect(status).to_have_text(f"Sent by hand on {date.today():%Y-%m-%d}")
        expect(page.locator("dt:text-is('Subject') + dd code")).to_contain_text("Île-de-France")
        page.screenshot(path=str(folder / f"request-{name}.png"), full_page=True)

        # The Calendar page: the explanation, then the two URLs.
        page.goto(f"{live_server.url}/calendar/")
        expect(page.locator(".alarm-help")).to_contain_text("?alarm=N")
        page.get_by_role("button", name=re.compile("Create my feed URL|Replace the URL")).click()
        plain = page.get_by_label("Without a reminder")
        with_alarm = page.get_by_label("With a reminder 7 days before each event")
        expect(plain).to_have_value(re.compile(r"/calendar/[A-Za-z0-9_-]+\.ics$"))
        expect(with_alarm).to_have_value(plain.input_value() + "?alarm=7")
        for field in ("#feed-url", "#feed-url-alarm"):
            box = _box(page, field)
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width + 1, (field, box)
        page.screenshot(path=str(folder / f"calendar-{name}.png"), full_page=True)
        context.close()
