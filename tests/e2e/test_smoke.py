"""A person's first minutes with certdesk, in a real browser."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.support.browser import screenshot
from tests.support.commands import run

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_first_administrator_logs_out_and_back_in(page: Page, live_server: LiveServer) -> None:
    """Create the first administrator, log out, log in again and land on the dashboard."""
    page.goto(live_server.url)
    expect(page.get_by_role("heading", name="Welcome to certdesk")).to_be_visible()
    # The operator reads the code from the server's log; `manage.py setup_code` prints a new one.
    code = run("setup_code").stdout.splitlines()[0].rsplit(" ", 1)[-1]
    page.get_by_label("Setup code").fill("wrong-code")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password", exact=True).fill("a long passphrase 42")
    page.get_by_label("Password again").fill("a long passphrase 42")
    page.get_by_role("button", name="Create the administrator").click()
    expect(page.get_by_text("This is not the current setup code")).to_be_visible()
    assert not User.objects.exists()

    page.get_by_label("Setup code").fill(code)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password", exact=True).fill("a long passphrase 42")
    page.get_by_label("Password again").fill("a long passphrase 42")
    page.get_by_role("button", name="Create the administrator").click()

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert User.objects.get().is_superuser

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to certdesk")).to_be_visible()
    page.goto(live_server.url + "/setup/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()

    page.goto(live_server.url)
    page.get_by_label("User name or email").fill("alice")
    page.get_by_label("Password").fill("a long passphrase 42")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="alice")).to_be_visible()
    screenshot(page, "dashboard-empty")
