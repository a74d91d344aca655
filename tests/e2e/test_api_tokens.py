"""API tokens (issue 17) in Chromium: the token pages and the API reference, with screenshots under
var/screenshots/<test-name>/ (CI keeps them).

- Profile, API tokens: fits a 390 px phone and a 1280 px desktop without scrolling sideways,
  every table cell names its column (the stacked phone layout), and the new token is shown
  once, whole, in a field that fits the screen, with its Copy button.
- The API reference (Swagger UI from django-ninja's own files): every operation is listed and
  the browser reports no Content-Security-Policy violation (no inline script, nothing from
  another host), at desktop width without scrolling sideways, its version badges readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import ApiToken, Environment
from tests.support.api import ApiClient, Person
from tests.support.browser import PASSWORD, SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
UNLABELLED = """() => {
  const wrong = [];
  for (const table of document.querySelectorAll('main table')) {
    const names = [...table.tHead.rows[0].cells].map((th) => th.textContent.trim());
    for (const row of table.tBodies[0].rows) {
      [...row.cells].forEach((cell, index) => {
        if (cell.getAttribute('data-label') !== names[index]) wrong.push(names[index]);
      });
    }
  }
  return [...new Set(wrong)];
}"""


def folder_of(request: pytest.FixtureRequest) -> Path:
    folder = SCREENSHOTS / str(request.node.name).replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def open_page(browser: Browser, contexts: list[BrowserContext], width: str) -> Page:
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def admin(sandbox: Environment, production: Environment) -> User:
    user = User.objects.create_superuser("admin", "admin@acme.example", PASSWORD)
    # A token already in use, so the list has a row with its last use.
    secret = Person(user).token("read", environments=[sandbox, production], name="monitoring")
    ApiClient(secret).get("/environments")
    return user


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_token_page_fits_and_shows_a_new_token_once(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    admin: User,
    width: str,
    request: pytest.FixtureRequest,
) -> None:
    folder = folder_of(request)
    page = open_page(browser, contexts, width)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/profile/")
    page.get_by_role("navigation", name="Your account").get_by_role(
        "link", name="API tokens"
    ).click()
    expect(page.get_by_role("heading", name="API tokens", exact=True)).to_be_visible()
    page.screenshot(path=str(folder / "list.png"), full_page=True)
    assert page.evaluate(FITS), "the token list scrolls sideways"
    assert page.evaluate(UNLABELLED) == []

    page.get_by_label("Name").fill("deploy-prod")
    page.get_by_label("Production").check()
    page.get_by_label("read: certificates").check()
    page.get_by_label("custody: export private keys").check()
    page.get_by_role("button", name="Make the token").click()
    expect(page.get_by_role("heading", name="Your new API token “deploy-prod”")).to_be_visible()
    field = page.get_by_label("The token")
    secret = field.input_value()
    assert secret.startswith("certdesk_")
    expect(page.get_by_role("button", name="Copy the token")).to_be_visible()
    page.screenshot(path=str(folder / "created.png"), full_page=True)
    assert page.evaluate(FITS), "the new token's page scrolls sideways"
    box = field.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= WIDTHS[width][0]
    assert ApiClient(secret).get("/environments").status_code == 200

    page.get_by_role("link", name="Back to your API tokens").click()
    expect(page.get_by_role("button", name="Revoke deploy-prod")).to_be_visible()
    assert secret not in page.content()
    assert ApiToken.objects.get(name="deploy-prod").scopes == ["read", "custody"]
    page.screenshot(path=str(folder / "listed.png"), full_page=True)
    assert page.evaluate(FITS)


def test_the_api_reference_lists_every_operation_within_the_policy(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    admin: User,
    request: pytest.FixtureRequest,
) -> None:
    folder = folder_of(request)
    page = open_page(browser, contexts, "desktop")
    problems: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server.url + "/api/v1/docs")
    expect(page.get_by_role("heading", name="certdesk API, version 1")).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(13)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("certdesk API")
    page.screenshot(path=str(folder / "reference.png"), full_page=True)
    page.locator(".swagger-ui .information-container").screenshot(path=str(folder / "info.png"))
    assert problems == []
    assert page.evaluate(FITS), "the reference scrolls sideways"
    # The version badges are Swagger UI's own (certdesk.css boxes every <pre> in grey with a
    # padding, which hid their text): no box of certdesk's inside them.
    boxed = page.evaluate(
        """() => [...document.querySelectorAll('.swagger-ui .info .title small pre')]
          .map((pre) => getComputedStyle(pre))
          .filter((style) => style.paddingLeft !== '0px'
            || style.backgroundColor !== 'rgba(0, 0, 0, 0)').length"""
    )
    assert boxed == 0
