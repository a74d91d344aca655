"""Single sign-on end to end, in Chromium, against a real OpenID provider: panva's
oidc-provider (OpenID Certified), started from tests/oidc/ for each test (tests/support/oidc.py).
People sign in on its pages, consent, and land on certdesk's dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, Route, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import AuditEvent, Environment, Membership
from tests.support.browser import PASSWORD, menu, screenshot
from tests.support.environments import migrated_environment
from tests.support.oidc import (
    CALLBACK_PATH,
    PROVIDER_NAME,
    ROLES_CLAIM,
    NodeProvider,
    running_node_provider,
    sso_settings,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

DORA = {"email": "dora@example.com", "email_verified": True, "name": "Dora Explorer"}


@pytest.fixture
def provider(tmp_path: Path, live_server: LiveServer, settings: Any) -> Iterator[NodeProvider]:
    """The provider running, certdesk pointed at it, and certdesk set up (an administrator)."""
    with running_node_provider(tmp_path, live_server.url) as running:
        sso_settings(settings, issuer=running.issuer)
        User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
        yield running


@pytest.fixture
def fresh_page(browser: Browser) -> Iterator[Any]:
    """Pages of new browser contexts: each signs in from scratch, with no provider session."""
    contexts = []

    def new_page() -> Page:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield new_page
    for context in contexts:
        context.close()


def sso_log_in(page: Page, url: str, login: str, *, consent: bool = True) -> None:
    """certdesk's button, then the provider's own pages: its login form and its consent."""
    page.goto(url + "/login/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/interaction/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("whatever the provider checks")
    page.get_by_role("button", name="Sign-in").click()
    if consent:
        page.get_by_role("button", name="Continue").click()


def admin_log_in(page: Page, url: str) -> None:
    """The break-glass form, by its fields' names (its labels are the account pages' own)."""
    page.goto(url + "/login/")
    page.locator("input[name=login]").fill("admin")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def roles_of(user: User) -> dict[str, str]:
    return {
        membership.environment.slug: membership.role
        for membership in Membership.objects.filter(user=user).select_related("environment")
    }


def test_a_first_login_creates_a_person_with_pkce_and_is_audited(
    page: Page, live_server: LiveServer, provider: NodeProvider, fresh_page: Any
) -> None:
    provider.set_accounts({"dora": DORA})
    sso_log_in(page, live_server.url, "dora")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("dora", exact=True)).to_be_visible()
    screenshot(page, "sso-first-login")
    dora = User.objects.get(email="dora@example.com")
    assert dora.username == "dora"
    assert roles_of(dora) == {}
    # certdesk asked for the code with PKCE (S256), a state and a nonce.
    (request,) = provider.authorization_requests()
    assert request["code_challenge_method"] == "S256"
    assert len(request["code_challenge"]) == 43
    assert len(request["nonce"]) >= 40
    assert request["state"]
    assert request["redirect_uri"] == live_server.url + CALLBACK_PATH

    admin = fresh_page()
    admin_log_in(admin, live_server.url)
    menu(admin, "Audit log").click()
    row = admin.get_by_role("row").filter(has_text="account.sso_login")
    expect(row).to_contain_text(provider.issuer)
    expect(row).to_contain_text("subject: dora")
    expect(row).to_contain_text("dora@example.com")
    screenshot(admin, "sso-audit-log")


def test_the_roles_claim_gives_roles_and_a_later_login_changes_them(
    live_server: LiveServer, provider: NodeProvider, fresh_page: Any, settings: Any
) -> None:
    settings.CERTDESK_OIDC_ROLES_CLAIM = ROLES_CLAIM
    migrated_environment("Sandbox")
    migrated_environment("Production")
    claims = ["certdesk:sandbox:requester", "certdesk:production:viewer", "wiki:editor"]
    provider.set_accounts({"dora": {**DORA, ROLES_CLAIM: claims}})
    page = fresh_page()
    sso_log_in(page, live_server.url, "dora")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(menu(page, "New request")).to_be_visible()
    dora = User.objects.get(email="dora@example.com")
    assert roles_of(dora) == {"sandbox": "requester", "production": "viewer"}

    # The provider's administrator changes Dora's groups; her next login brings them.
    provider.set_accounts({"dora": {**DORA, ROLES_CLAIM: "certdesk:production:viewer"}})
    page = fresh_page()
    sso_log_in(page, live_server.url, "dora")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(menu(page, "New request")).to_have_count(0)
    assert roles_of(dora) == {"production": "viewer"}
    removed = AuditEvent.objects.get(action="settings.membership_removed")
    assert removed.actor_label == "sso claim"
    assert removed.environment == Environment.objects.get(slug="sandbox")
    assert AuditEvent.objects.filter(action="account.sso_roles_applied").count() == 2


def test_an_existing_person_is_matched_by_verified_address(
    page: Page, live_server: LiveServer, provider: NodeProvider
) -> None:
    existing = User.objects.create_user("dora.e", "dora@example.com")
    provider.set_accounts({"idp-user-17": DORA})
    sso_log_in(page, live_server.url, "idp-user-17")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("dora.e", exact=True)).to_be_visible()
    assert User.objects.filter(email__iexact="dora@example.com").count() == 1
    assert SocialAccount.objects.get(user=existing).uid == "idp-user-17"


def test_an_unverified_address_is_refused(
    page: Page, live_server: LiveServer, provider: NodeProvider
) -> None:
    User.objects.create_user("dora", "dora@example.com")
    provider.set_accounts({"dora": {**DORA, "email_verified": False}})
    sso_log_in(page, live_server.url, "dora")
    expect(page.get_by_role("heading", name="Single sign-on failed")).to_be_visible()
    expect(page.get_by_text("has not verified your email address")).to_be_visible()
    assert not SocialAccount.objects.exists()


def test_a_tampered_state_is_refused(
    page: Page, live_server: LiveServer, provider: NodeProvider
) -> None:
    """The state certdesk sends is changed on its way to the provider, which hands it back
    as it got it: certdesk finds no sign-in of its own with that state and refuses."""
    provider.set_accounts({"dora": DORA})

    def tamper(route: Route) -> None:
        answer = route.fetch(max_redirects=0)
        location = answer.headers["location"]
        assert "state=" in location
        route.fulfill(
            response=answer,
            headers={**answer.headers, "location": location.replace("state=", "state=x")},
        )

    page.route("**/accounts/oidc/sso/login/**", tamper)
    sso_log_in(page, live_server.url, "dora")
    expect(page.get_by_role("heading", name="Single sign-on failed")).to_be_visible()
    expect(page.get_by_text("You are not signed in.")).to_be_visible()
    assert provider.authorization_requests()[0]["state"].startswith("x")
    assert not User.objects.filter(email="dora@example.com").exists()
    screenshot(page, "sso-refused")
    # Untouched, the same sign-in works.
    page.unroute("**/accounts/oidc/sso/login/**")
    page.goto(live_server.url + "/login/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_a_deactivated_person_is_refused(
    page: Page, live_server: LiveServer, provider: NodeProvider
) -> None:
    User.objects.create_user("dora", "dora@example.com", is_active=False)
    provider.set_accounts({"dora": DORA})
    sso_log_in(page, live_server.url, "dora")
    expect(page.get_by_role("heading", name="Account deactivated")).to_be_visible()
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Log in to certdesk")).to_be_visible()
    refusal = AuditEvent.objects.get(action="account.sso_refused")
    assert refusal.details["reason"] == "account deactivated"
