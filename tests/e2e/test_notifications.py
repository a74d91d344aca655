"""Notification channels (issue 18) in Chromium, with screenshots under
var/screenshots/<test-name>/ (CI keeps them).

An administrator goes Settings → Sandbox → Notifications, adds a webhook pointed at a local
receiver, copies the secret shown once (in a field that fits the screen), goes back to the list
(the secret is gone, the address masked), and sends a test message: the receiver gets it, signed
with that secret, and the list says it was sent. At a 390 px phone and a 1280 px desktop the
pages do not scroll sideways and every table cell names its column (the stacked phone layout).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from certificates import notify
from certificates.models import Environment
from tests.support.browser import PASSWORD, SCREENSHOTS, log_in
from tests.support.receiver import Receiver, start_receiver

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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = start_receiver()
    yield server
    server.close()


@pytest.fixture
def admin(sandbox: Environment) -> User:
    return User.objects.create_superuser("admin", "admin@acme.example", PASSWORD)


def _page(browser: Browser, contexts: list[BrowserContext], width: str) -> Page:
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _fits(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert page.evaluate(FITS), f"{name} scrolls sideways"
    assert page.evaluate(UNLABELLED) == [], name


@pytest.mark.parametrize("width", list(WIDTHS))
def test_add_a_webhook_copy_its_secret_once_and_send_a_test_message(
    browser: Browser,
    contexts: list[BrowserContext],
    live_server: LiveServer,
    admin: User,
    receiver: Receiver,
    width: str,
    request: pytest.FixtureRequest,
) -> None:
    folder = SCREENSHOTS / str(request.node.name).replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    page = _page(browser, contexts, width)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/settings/environments/sandbox/edit/")
    page.get_by_role("link", name="Notifications of Sandbox").click()
    expect(page.get_by_role("heading", name="Notifications of Sandbox")).to_be_visible()
    _fits(page, folder, "empty")

    page.get_by_label("Webhook: signed JSON to your own service").check()
    page.get_by_label("Name").fill("ops webhook")
    page.get_by_label("Address").fill(f"{receiver.url}/certdesk/hook")
    page.get_by_label("Owner reminders").uncheck()
    page.get_by_role("button", name="Add the channel").click()
    expect(page.get_by_role("heading", name="Webhook “ops webhook” added")).to_be_visible()
    field = page.get_by_label("The signing secret")
    secret = field.input_value()
    assert len(secret) >= 40
    expect(page.get_by_role("button", name="Copy the secret")).to_be_visible()
    _fits(page, folder, "secret")
    box = field.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= WIDTHS[width][0]

    page.get_by_role("link", name="Back to the notifications of Sandbox").click()
    expect(page.get_by_role("button", name="Send a test message to ops webhook")).to_be_visible()
    assert secret not in page.content()
    assert "/certdesk/hook" not in page.content()
    expect(page.get_by_text("http://127.0.0.1/…")).to_be_visible()
    page.get_by_role("button", name="Send a test message to ops webhook").click()
    expect(page.get_by_text("Test message to “ops webhook” queued")).to_be_visible()
    expect(page.get_by_role("cell", name="Sent", exact=False).first).to_be_visible()
    _fits(page, folder, "tested")

    deadline = time.monotonic() + 10
    while not receiver.requests and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    (arrived,) = receiver.requests
    assert notify.verify_webhook(
        secret,
        timestamp=arrived.headers["X-Certdesk-Timestamp"],
        body=arrived.body,
        signature=arrived.headers["X-Certdesk-Signature"],
        now=time.time(),
    )
    assert arrived.json()["event"] == "test"

    page.goto(live_server.url + "/outbox/")
    expect(page.get_by_role("heading", name="Chat and webhook notifications")).to_be_visible()
    expect(page.get_by_text("Test message from certdesk (Sandbox)")).to_be_visible()
    _fits(page, folder, "outbox")


def test_the_notification_pages_pass_axe_at_both_widths(
    browser: Browser,
    live_server: LiveServer,
    admin: User,
    sandbox: Environment,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Deque's axe rules (WCAG 2.2 A and AA) on the list with channels (an active and a
    deactivated one), a channel's page, and the outbox with a failed notification (Slack is
    the local receiver, answering 404: nothing leaves this machine)."""
    from apprise.plugins.slack import NotifySlack

    monkeypatch.setattr(NotifySlack, "webhook_url", f"{receiver.url}/services")
    receiver.statuses = [404] * 20
    from certificates.services import Actor
    from certificates.services.notifications import (
        notification_channel_create,
        notification_channel_deactivate,
        notification_channel_test,
    )
    from tests.support.a11y import axe_context, axe_violations, describe

    slack = notification_channel_create(
        actor=Actor.cli(),
        environment=sandbox,
        kind="slack",
        name="#certificates",
        url="https://hooks.slack.com/services/T0/B0/abc",
        events=["owner_reminder"],
    ).channel
    old = notification_channel_create(
        actor=Actor.cli(),
        environment=sandbox,
        kind="webhook",
        name="old hook",
        url="https://hooks.acme.example/old",
        events=[],
    ).channel
    notification_channel_deactivate(actor=Actor.cli(), channel=old)
    # The receiver says 404: the eager task's retry propagates here; the row is failed.
    with contextlib.suppress(Exception):
        notification_channel_test(actor=Actor.cli(), channel=slack)
    folder = SCREENSHOTS / str(request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    found: list[str] = []
    for width, (w, h) in WIDTHS.items():
        context = axe_context(browser, width=w, height=h)
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            log_in(page, live_server.url)
            for name, path in (
                ("list", "/settings/environments/sandbox/notifications/"),
                ("edit", f"/settings/environments/sandbox/notifications/{slack.pk}/"),
                ("outbox", "/outbox/"),
            ):
                page.goto(live_server.url + path)
                page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
                assert page.evaluate(FITS), f"{name} at {width} scrolls sideways"
                violations = axe_violations(page)
                if violations:
                    found.append(describe(violations, where=f"{name} at {width}"))
        finally:
            context.close()
    assert found == [], "\n".join(found)
