"""A layout that works everywhere (issue 16), in Chromium.

Every page of the journey fits a 390 px phone and a 1280 px desktop without scrolling sideways,
as each role that can open it, and every table cell carries its column's name for the stacked
phone layout; then the visual defects the first user saw, each checked by the layout property
it is about. Every test saves its screenshots under var/screenshots/<test-name>/ (CI keeps them).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import Environment
from tests.support.browser import SCREENSHOTS
from tests.support.site_tour import (
    HEIGHT,
    ROLES,
    WIDTHS,
    Site,
    build_site,
    log_in,
    visit_all,
    wizard_steps,
)
from tests.support.testca import LocalCA

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
# What sticks out on the right, for the failure message.
WIDEST = """() => {
  const limit = window.innerWidth;
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > limit + 1)
    .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > limit + 1))
    .slice(0, 5)
    .map((el) => `<${el.tagName.toLowerCase()} class="${el.className}"> ends at `
      + `${Math.round(el.getBoundingClientRect().right)} px: `
      + el.textContent.trim().slice(0, 60));
}"""
# Each body cell of a table with a header row names its column (data-label), as the stacked
# phone layout shows it; the cells whose label is missing or wrong.
UNLABELLED = """() => {
  const wrong = [];
  for (const table of document.querySelectorAll('main table')) {
    const head = table.tHead && table.tHead.rows[0];
    if (!head) continue;
    const names = [...head.cells].map((th) => th.textContent.trim().replace(/\\s+/g, ' '));
    for (const body of table.tBodies) {
      for (const row of body.rows) {
        [...row.cells].forEach((cell, index) => {
          if (cell.tagName !== 'TD' || cell.colSpan > 1) return;
          const label = cell.getAttribute('data-label');
          if (label !== names[index]) {
            wrong.push(`column ${index + 1} "${names[index]}" labelled ${JSON.stringify(label)}`);
          }
        });
      }
    }
  }
  return [...new Set(wrong)];
}"""


def folder_of(request: pytest.FixtureRequest) -> Path:
    """var/screenshots/<test-name>/ (a parametrized test's id joined with a dash)."""
    name = str(request.node.name).replace("[", "-").replace("]", "")
    folder = SCREENSHOTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def site(db: None) -> Site:
    return build_site(LocalCA.create("Treezor Test Root CA", with_intermediate=True))


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts a test opens (``open_page``), closed when it ends."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def open_page(browser: Browser, contexts: list[BrowserContext], width: str, **options: Any) -> Page:
    context = browser.new_context(
        viewport={"width": WIDTHS[width], "height": HEIGHT[width]}, **options
    )
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_the_screen(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    role: str,
    request: pytest.FixtureRequest,
) -> None:
    """No horizontal scrolling on any page ``role`` opens, at 390 and at 1280 px
    (``scrollWidth <= innerWidth``), and every table cell labelled with its column."""
    folder = folder_of(request)
    problems: list[str] = []
    for width in WIDTHS:
        page = open_page(browser, contexts, width)

        def check(name: str, page: Page = page, width: str = width) -> None:
            shoot(page, folder, f"{name}-{width}")
            if not page.evaluate(FITS):
                problems.append(f"{name} at {width} scrolls sideways: {page.evaluate(WIDEST)}")
            if unlabelled := page.evaluate(UNLABELLED):
                problems.append(f"{name}: table cells without their column's name: {unlabelled}")

        log_in(page, live_server.url, role)
        seen = visit_all(page, live_server.url, role, site, check)
        assert len(seen) > 3, seen
    assert not problems, "\n".join(problems)


def test_the_menu_folds_on_a_phone_and_stays_open_on_a_desktop(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """At 390 px the navigation hides behind a "Menu" button (no JavaScript needed, reachable
    by keyboard); at 1280 px it is in the bar, with no button."""
    folder = folder_of(request)
    phone = open_page(browser, contexts, "phone", java_script_enabled=False)
    log_in(phone, live_server.url, "admin")
    navigation = phone.get_by_role("navigation", name="Main")
    menu = phone.locator("details.menu > summary")
    expect(menu).to_be_visible()
    expect(menu).to_have_text("Menu")
    expect(navigation).to_be_hidden()
    bar = phone.locator("header.topbar").bounding_box()
    assert bar is not None
    assert bar["height"] < 70, bar  # one line: the brand and "Menu"
    shoot(phone, folder, "phone-folded")
    menu.focus()
    phone.keyboard.press("Enter")
    expect(navigation).to_be_visible()
    expect(navigation.get_by_role("link", name="Settings")).to_be_visible()
    expect(phone.get_by_role("button", name="Log out")).to_be_visible()
    shoot(phone, folder, "phone-open")
    navigation.get_by_role("link", name="Certificates").click()
    expect(phone.get_by_role("heading", name="All certificates")).to_be_visible()
    expect(phone.get_by_role("navigation", name="Main")).to_be_hidden()

    desktop = open_page(browser, contexts, "desktop")
    log_in(desktop, live_server.url, "admin")
    expect(desktop.locator("details.menu > summary")).to_be_hidden()
    links = desktop.get_by_role("navigation", name="Main").get_by_role("link")
    expect(links.first).to_be_visible()
    for link in links.all():
        expect(link).to_be_visible()
    shoot(desktop, folder, "desktop")


def test_tables_become_labelled_cards_on_a_phone(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """At 390 px each row of a list is a card of its cells one under the other, each shown
    with its column's name; at 1280 px it is a table again."""
    folder = folder_of(request)
    phone = open_page(browser, contexts, "phone")
    log_in(phone, live_server.url, "admin")
    phone.goto(live_server.url + "/certificates/")
    row = phone.locator("table.list-table tbody tr").first
    cells = row.locator("td")
    boxes = [cells.nth(i).bounding_box() for i in range(cells.count())]
    assert len(boxes) >= 5
    row_box = row.bounding_box()
    assert row_box is not None
    for above, below in itertools.pairwise(boxes):
        assert above is not None
        assert below is not None
        assert below["y"] >= above["y"] + above["height"] - 1  # stacked, not side by side
        assert abs(below["x"] - above["x"]) < 1
    shown = phone.evaluate(
        """(cell) => getComputedStyle(cell, '::before').content""",
        cells.nth(0).element_handle(),
    )
    assert shown == '"Environment"', shown
    expect(phone.locator("table.list-table thead")).to_have_css("position", "absolute")
    shoot(phone, folder, "certificates-phone")

    desktop = open_page(browser, contexts, "desktop")
    log_in(desktop, live_server.url, "admin")
    desktop.goto(live_server.url + "/certificates/")
    first, second = (
        desktop.locator("table.list-table tbody tr").first.locator("td").nth(i) for i in (0, 1)
    )
    a, b = first.bounding_box(), second.bounding_box()
    assert a is not None
    assert b is not None
    assert abs(a["y"] - b["y"]) < 1  # side by side again
    assert b["x"] > a["x"]
    shoot(desktop, folder, "certificates-desktop")


def test_the_audit_log_fits_a_desktop_screen(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """At 1280 px the audit log's table, long subjects and fingerprints included, ends inside
    the window."""
    folder = folder_of(request)
    page = open_page(browser, contexts, "desktop")
    log_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/audit/")
    table = page.locator("table.audit").bounding_box()
    assert table is not None
    assert table["x"] >= 0
    assert table["x"] + table["width"] <= WIDTHS["desktop"], table
    assert page.evaluate(FITS)
    shoot(page, folder, "audit-log-desktop")


def assert_beside(control: Locator, label: Locator, where: str) -> None:
    """``control`` (a radio button or a check box) sits on ``label``'s first line, at its
    left, at its own size (it was stretched to the field's width, its label under it)."""
    box, text = control.bounding_box(), label.bounding_box()
    assert box is not None, where
    assert text is not None, where
    line = float(label.evaluate("(el) => parseFloat(getComputedStyle(el).lineHeight)"))
    assert box["width"] < 40, (where, box)
    assert box["y"] >= text["y"] - 1, (where, box, text)
    assert box["y"] + box["height"] <= text["y"] + line + 1, (where, box, text)
    assert box["x"] <= text["x"] + 1, (where, box, text)


def test_radio_buttons_and_check_boxes_are_beside_their_labels(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """The revoke form's reasons (a group named by the question) and the profile's check box
    each have their button on their label's line, at both widths."""
    folder = folder_of(request)
    for width in WIDTHS:
        page = open_page(browser, contexts, width)
        log_in(page, live_server.url, "custodian")
        page.goto(f"{live_server.url}/certificates/{site.certificate.pk}/revoke/")
        group = page.get_by_role("group", name="Why is it no longer needed?")
        radios = group.get_by_role("radio")
        assert radios.count() == 3
        for index in range(3):
            radio = radios.nth(index)
            label = radio.locator("xpath=ancestor::label[1]")
            assert_beside(radio, label, f"reason {index} at {width}")
        shoot(page, folder, f"revoke-{width}")
        page.goto(f"{live_server.url}/profile/")
        box = page.get_by_role("checkbox", name="Email me expiry reminders")
        label = page.locator("label[for=id_receives_reminders]")
        assert_beside(box, label, f"profile check box at {width}")
        shoot(page, folder, f"profile-{width}")


def test_calendar_buttons_are_styled_and_the_feed_url_can_be_copied(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """ "Replace the URL" looks like the other secondary buttons; "Copy" (shown by
    static/certdesk/copy.js) puts the feed URL on the clipboard; without JavaScript the button
    is not offered and the URL is still there to select."""
    folder = folder_of(request)
    page = open_page(
        browser, contexts, "desktop", permissions=["clipboard-read", "clipboard-write"]
    )
    log_in(page, live_server.url, "viewer")
    page.goto(live_server.url + "/calendar/")
    page.get_by_role("button", name="Create my feed URL").click()
    url = page.locator("#feed-url").input_value()
    assert url.startswith(live_server.url + "/calendar/")
    assert url.endswith(".ics")
    copy = page.get_by_role("button", name="Copy the URL without a reminder")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.locator('[data-copy-status="feed-url"]')).to_have_text("Copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    shoot(page, folder, "feed-url-copied")

    page.goto(live_server.url + "/calendar/")
    replace = page.get_by_role("button", name="Replace the URL")
    back = page.evaluate(
        """() => { const a = document.createElement('a'); a.className = 'button secondary';
        a.href = '#'; a.textContent = 'x'; document.querySelector('main').append(a);
        const s = getComputedStyle(a); const look = [s.color, s.backgroundColor,
        s.borderTopColor, s.borderTopWidth, s.borderRadius]; a.remove(); return look; }"""
    )
    look = replace.evaluate(
        """(b) => { const s = getComputedStyle(b); return [s.color, s.backgroundColor,
        s.borderTopColor, s.borderTopWidth, s.borderRadius]; }"""
    )
    assert look == back, (look, back)
    assert look[1] == "rgb(255, 255, 255)"
    assert look[2] == "rgb(31, 95, 191)"
    shoot(page, folder, "replace")

    without_js = open_page(browser, contexts, "desktop", java_script_enabled=False)
    log_in(without_js, live_server.url, "viewer")
    without_js.goto(live_server.url + "/calendar/")
    without_js.get_by_role("button", name="Replace the URL").click()
    expect(without_js.locator("#feed-url")).to_be_visible()
    expect(without_js.get_by_role("button", name="Copy the URL without a reminder")).to_be_hidden()
    shoot(without_js, folder, "without-javascript")


# Single-column forms, by page: a text field of each, whose width must be the same.
FORM_FIELDS = [
    ("/settings/company/", "#id_company_name"),
    ("/settings/people/invite/", "#id_email"),
    ("/settings/environments/sandbox/edit/", "#id_tam_emails"),
    ("/certificates/{cert}/revoke/", "#id_note"),
    ("/certificates/{cert}/compromised/", "#id_note"),
    ("/certificates/upload/", "#id_certificate_text"),
    ("/profile/", "#id_first_name"),
    ("/requests/new/", "wizard-subject"),
]


def test_single_column_forms_have_one_width(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """At 1280 px the fields of every single-column form are as wide as each other (they
    jumped between 32, 44 and 72 rem), and the login form's too."""
    folder = folder_of(request)
    page = open_page(browser, contexts, "desktop")
    widths: dict[str, float] = {}
    page.goto(live_server.url + "/login/")
    widths["/login/"] = page.locator("input[name=login]").bounding_box()["width"]  # type: ignore[index]
    log_in(page, live_server.url, "admin")
    for path, selector in FORM_FIELDS:
        if selector == "wizard-subject":
            for step in wizard_steps(page, live_server.url):
                if step == "wizard-subject":
                    break
            field = page.get_by_label("Common Name")
            path = "wizard subject step"
        else:
            page.goto(live_server.url + path.format(cert=site.certificate.pk))
            field = page.locator(selector).first
        box = field.bounding_box()
        assert box is not None, path
        widths[path] = box["width"]
        shoot(page, folder, path.strip("/").replace("/", "-").replace(" ", "-") or "home")
    assert max(widths.values()) - min(widths.values()) <= 2, widths


SELECT_PAGES = [
    ("/audit/", "select"),
    ("/settings/people/invite/", "select"),
    ("/settings/environments/sandbox/members/", "select"),
    ("/outbox/", "select"),
]


def test_selects_look_like_the_inputs_beside_them(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """A select has the white background, the border and the text colour of a text input on
    the same page (they were grey beside white inputs)."""
    folder = folder_of(request)
    page = open_page(browser, contexts, "desktop")
    log_in(page, live_server.url, "admin")
    look = """(el) => { const s = getComputedStyle(el);
      return [s.backgroundColor, s.borderTopColor, s.borderTopWidth, s.color, s.fontSize]; }"""
    for path, _ in SELECT_PAGES:
        page.goto(live_server.url + path)
        selects = page.locator("main select")
        text = page.locator(
            "main input[type=text], main input[type=email], main input:not([type])"
        ).first
        assert selects.count() > 0, path
        expected = text.evaluate(look) if text.count() else None
        for index in range(selects.count()):
            got = selects.nth(index).evaluate(look)
            assert got[0] == "rgb(255, 255, 255)", (path, got)
            if expected is not None:
                assert got == expected, (path, got, expected)
        shoot(page, folder, path.strip("/").replace("/", "-"))


def test_settings_lists_sandbox_first_without_slugs(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    folder = folder_of(request)
    page = open_page(browser, contexts, "desktop")
    log_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/settings/")
    names = page.locator("main h3").all_inner_texts()
    assert names[:2] == ["Sandbox", "Production"], names
    assert "(sandbox)" not in page.content()
    assert "(production)" not in page.content()
    shoot(page, folder, "settings")
    assert Environment.objects.count() == 2


def test_the_key_source_step_shows_the_upload_only_for_my_own_csr(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    site: Site,
    request: pytest.FixtureRequest,
) -> None:
    """With JavaScript, the CSR upload appears once "upload my CSR" is chosen, and hides again
    for "generate"; without it, it is there from the start and the upload works; at 390 px
    ``-traditional`` stays on one line."""
    folder = folder_of(request)
    page = open_page(browser, contexts, "phone")
    log_in(page, live_server.url, "requester")
    for step in wizard_steps(page, live_server.url):
        if step == "wizard-key-source":
            break
    upload = page.get_by_label("CSR file (PEM or DER)")
    own = page.get_by_role("radio", name="I generated my key myself: upload my CSR")
    expect(page.get_by_role("radio", name="Generate the key here (recommended)")).to_be_checked()
    expect(upload).to_be_hidden()
    expect(
        page.get_by_role("heading", name="I generated my key myself: upload my CSR")
    ).to_be_hidden()
    shoot(page, folder, "generate-chosen")
    own.check()
    expect(upload).to_be_visible()
    expect(page.get_by_label("Or paste the CSR")).to_be_visible()
    traditional = page.locator(".nowrap", has_text="-traditional")
    assert traditional.count() == 2
    for index in range(2):
        lines = traditional.nth(index).evaluate("(el) => el.getClientRects().length")
        assert lines == 1, index
    assert page.evaluate(FITS)
    shoot(page, folder, "own-csr-chosen")
    page.get_by_role("radio", name="Generate the key here (recommended)").check()
    expect(upload).to_be_hidden()

    plain = open_page(browser, contexts, "phone", java_script_enabled=False)
    log_in(plain, live_server.url, "requester")
    for step in wizard_steps(plain, live_server.url):
        if step == "wizard-key-source":
            break
    expect(plain.get_by_label("CSR file (PEM or DER)")).to_be_visible()
    shoot(plain, folder, "without-javascript")
    plain.get_by_role("radio", name="I generated my key myself: upload my CSR").check()
    plain.get_by_label("Or paste the CSR").fill("not a CSR")
    plain.get_by_role("button", name="Next", exact=True).click()
    expect(plain.locator(".has-error").first).to_be_visible()
    expect(plain.get_by_label("CSR file (PEM or DER)")).to_be_visible()
