"""axe-core finds no violation on any page of the journey, at 390 and at 1280 px, as each role
that can open it (issue 16)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from tests.support.a11y import axe_context, axe_violations, describe
from tests.support.site_tour import HEIGHT, ROLES, WIDTHS, build_site, log_in, visit_all
from tests.support.testca import LocalCA

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("role", ROLES)
def test_no_axe_violation_on_any_page(browser: Browser, live_server: LiveServer, role: str) -> None:
    site = build_site(LocalCA.create("Treezor Test Root CA", with_intermediate=True))
    found: list[str] = []
    for width_name, width in WIDTHS.items():
        context = axe_context(browser, width=width, height=HEIGHT[width_name])
        page = context.new_page()
        page.set_default_timeout(15_000)

        def check(name: str, page: Page = page, width_name: str = width_name) -> None:
            violations = axe_violations(page)
            if violations:
                found.append(describe(violations, where=f"{name} at {width_name} ({page.url})"))

        log_in(page, live_server.url, role)
        visit_all(page, live_server.url, role, site, check)
        context.close()
    assert not found, "\n\n".join(found)
