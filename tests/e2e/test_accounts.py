"""Accounts in Chromium (issue 15): an invited custodian's first minutes up to a private key in
sudo mode, a passkey as the second factor, the lockout, and the top bar by role.

Single sign-on's browser tests are in their own module (the provider is a server of its own).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import Browser, Page, Response, expect
from pytest_django.live_server_helper import LiveServer

from certificates.models import AuditEvent, Environment, Membership, Role
from certificates.services import Actor
from certificates.services.invitations import invitation_create
from tests.support import totp
from tests.support.accounts import (
    certificate_with_key,
    log_in_as,
    log_out,
    session_rows_text,
    stashed_request,
    virtual_authenticator,
)
from tests.support.browser import menu, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long passphrase of dana's 2026"


def person(username: str, **fields: Any) -> User:
    return User.objects.create_user(username, f"{username}@acme.example", PASSWORD, **fields)


def member(username: str, role: str, environment: Environment) -> User:
    user = person(username)
    Membership.objects.create(user=user, environment=environment, role=role)
    return user


def test_an_invited_custodian_enrols_a_totp_app_and_takes_a_pkcs12_in_sudo_mode(
    page: Page,
    live_server: LiveServer,
    settings: Any,
    sandbox: Environment,
    admin_user: User,
    issue: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    """Invitation email → the link → a password of their own → "Set up a second factor" →
    a TOTP app and the recovery codes → a PKCS#12 download that, past five minutes, asks
    "Confirm it is you", then starts by itself with the passphrase shown before, which never
    waits in the session table in clear and is never typed again."""
    settings.CERTDESK_MFA_REQUIRED = "custodians"
    settings.CERTDESK_SITE_URL = live_server.url
    certificate = certificate_with_key(sandbox, issue)
    url = live_server.url

    # The administrator invites Dana as a custodian of Sandbox; the link is in the email.
    mail.outbox.clear()
    invitation_create(
        actor=Actor.browser(user=admin_user, ip="127.0.0.1"),
        email="dana@acme.example",
        roles=[(sandbox, Role.CUSTODIAN)],
    )
    (invitation_email,) = mail.outbox
    links = re.findall(r"https?://[^\s\"'<>]+/invitations/[\w-]+/", str(invitation_email.body))
    assert links, invitation_email.body
    page.goto(links[0])
    page.locator("[name=first_name]").fill("Dana")
    page.locator("[name=last_name]").fill("Scully")
    page.locator("[name=password1]").fill(PASSWORD)
    page.locator("[name=password2]").fill(PASSWORD)
    page.locator("form:has([name=password2]) [type=submit]").click()

    # Logged in, and led to enrol: a custodian may take keys out.
    expect(page.get_by_role("heading", name="Set up a second factor")).to_be_visible()
    expect(page.get_by_text("key destruction are refused", exact=False)).to_be_visible()
    # The login a moment ago counts as proof for the enrolment: no password again here.
    page.get_by_role("link", name="Use an authenticator app (TOTP)").click()

    # The secret as allauth shows it (under the QR code), the code as the phone app computes it.
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    with time_machine.travel(totp.next_window(), tick=True):
        page.get_by_label("Authenticator code").fill(totp.code_now(secret))
        page.get_by_role("button", name="Activate").click()
        expect(page.get_by_text("Authenticator app activated.")).to_be_visible()
    dana = User.objects.get(username="dana@acme.example")
    assert Authenticator.objects.filter(user=dana, type=Authenticator.Type.TOTP).exists()

    # Recovery codes, saved to a file.
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    with page.expect_download() as saved:
        page.get_by_role("link", name="Download codes").click()
    codes = Path(saved.value.path()).read_text().split()
    assert len(codes) == 10
    assert all(re.fullmatch(r"\d{8}", code) for code in codes)
    # The reminder of the policy is gone from every page.
    expect(page.get_by_text("Your role needs a second factor")).to_have_count(0)

    # The certificate's page offers a generated passphrase for the PKCS#12 bundle.
    page.goto(f"{url}/certificates/{certificate.pk}/")
    passphrase = page.get_by_label("Passphrase for the PKCS#12 bundle").input_value()
    assert len(passphrase) >= 20
    screenshot(page, "accounts-pkcs12-offer")

    # Seven minutes later: the download asks who it is first.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=7), tick=True):
        page.get_by_role("button", name="Download a PKCS#12 bundle").click()
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        screenshot(page, "accounts-confirm-it-is-you")
        # Nothing on this page asks for the passphrase again, and the session table, where the
        # download waits, does not hold it in clear.
        expect(page.locator("input:not([type=hidden])")).to_have_count(1)
        session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
        waiting = stashed_request(session_key)
        assert waiting is not None
        assert waiting["path"] == f"/certificates/{certificate.pk}/key/"
        assert "sealed-passphrase" in waiting["POST"]
        assert passphrase not in session_rows_text()

        # The password, and the download starts by itself.
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        with page.expect_download() as started:
            page.get_by_role("button", name="Confirm").click()
    bundle = tmp_path / started.value.suggested_filename
    started.value.save_as(bundle)
    assert bundle.suffix == ".p12"
    key, leaf, _ = pkcs12.load_key_and_certificates(bundle.read_bytes(), passphrase.encode())
    assert key is not None
    assert leaf is not None
    assert leaf.public_bytes(serialization.Encoding.PEM).decode() == certificate.pem
    assert key.public_key().public_numbers() == leaf.public_key().public_numbers()  # type: ignore[union-attr]
    exported = AuditEvent.objects.get(action="key.exported")
    assert exported.actor_id == dana.pk
    assert exported.details["format"] == "pkcs12"
    assert passphrase not in session_rows_text()
    # The sealing key is dropped with the download.
    assert "certdesk_sudo" not in {c["name"] for c in page.context.cookies()}


def test_a_passkey_is_the_second_factor_at_login_and_in_sudo_mode(
    page: Page,
    live_server: LiveServer,
    settings: Any,
    sandbox: Environment,
    issue: Callable[..., bytes],
) -> None:
    """Chromium's virtual authenticator: a custodian adds a passkey on allauth's page, logs
    out, logs in with the password, is asked for the second factor, uses the passkey and is
    in; later a key download is confirmed with the passkey and starts by itself. The content
    security policy lets allauth's WebAuthn scripts run."""
    settings.CERTDESK_MFA_REQUIRED = "custodians"
    # WebAuthn needs a secure context and a domain as the relying party: localhost, not an IP.
    assert urlparse(live_server.url).hostname == "localhost"
    member("mulder", Role.CUSTODIAN, sandbox)
    certificate = certificate_with_key(sandbox, issue)
    authenticator = virtual_authenticator(page)
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    url = live_server.url

    log_in_as(page, url, "mulder", PASSWORD)
    expect(page.get_by_role("heading", name="Set up a second factor")).to_be_visible()
    page.get_by_role("link", name="Add a passkey or security key").click()
    expect(page.get_by_role("heading", name="Add Security Key")).to_be_visible()
    page.get_by_label("Name").fill("Mulder's laptop")
    # allauth's scripts give the WebAuthn buttons their work once the page has loaded.
    page.wait_for_load_state()
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Security key added.")).to_be_visible()
    (credential,) = authenticator.credentials()
    assert credential["rpId"] == "localhost"
    passkey = Authenticator.objects.get(type=Authenticator.Type.WEBAUTHN)
    assert passkey.wrap().name == "Mulder's laptop"

    log_out(page)
    log_in_as(page, url, "mulder", PASSWORD)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    screenshot(page, "accounts-second-factor-at-login")
    # Not in yet: the password alone opens nothing, and the second factor is asked again.
    page.goto(url + "/certificates/")
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    expect(page.get_by_role("link", name="mulder")).to_have_count(0)
    page.wait_for_load_state()
    page.get_by_role("button", name="Use a passkey or security key").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="mulder")).to_be_visible()
    expect(page.get_by_text("Your role needs a second factor")).to_have_count(0)
    # The authenticator signed a second time: the login used it.
    (credential,) = authenticator.credentials()
    assert credential["signCount"] == 2

    # Seven minutes on, a key download is confirmed with the passkey instead of the password.
    page.goto(f"{url}/certificates/{certificate.pk}/")
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=7), tick=True):
        page.get_by_role("button", name=re.compile(r"^Download .*PKCS#1 PEM")).click()
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        page.get_by_role("link", name="Use a security key").click()
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        page.wait_for_load_state()
        with page.expect_download() as started:
            page.get_by_role("button", name="Use a passkey or security key").click()
    key = Path(started.value.path()).read_bytes()
    assert key.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    (credential,) = authenticator.credentials()
    assert credential["signCount"] == 3
    assert blocked == []


def posted_login(response: Response) -> bool:
    return response.request.method == "POST" and urlparse(response.url).path == "/login/"


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    page: Page, live_server: LiveServer, settings: Any
) -> None:
    """Each failure says how many attempts are left; the fifth locks the account: the
    lockout page (429), and the right password is refused as well for the cool-off."""
    settings.AXES_ENABLED = True
    person("erin")
    url = live_server.url

    log_in_as(page, url, "erin", "not my password")
    left_text = "4 attempts left before logins are refused for 15 minutes."
    expect(page.get_by_text(left_text)).to_be_visible()
    for left in (3, 2, 1):
        page.get_by_label("Password", exact=True).fill("still not it")
        page.get_by_role("button", name="Log in").click()
        plural = "s" if left != 1 else ""
        expect(page.get_by_text(f"{left} attempt{plural} left before logins")).to_be_visible()
    page.get_by_label("Password", exact=True).fill("nor this")
    with page.expect_response(posted_login) as fifth:
        page.get_by_role("button", name="Log in").click()
    assert fifth.value.status == 429
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()

    with page.expect_response(posted_login) as right:
        log_in_as(page, url, "erin", PASSWORD)
    assert right.value.status == 429
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    expect(page.get_by_text("Try again after 15 minutes")).to_be_visible()
    page.goto(url + "/")
    expect(page.get_by_role("heading", name="Log in to certdesk")).to_be_visible()


@pytest.fixture
def another_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Fresh browser contexts: one person each, with their own cookies."""
    contexts = []

    def make() -> Page:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


def menu_labels(page: Page) -> list[str]:
    nav = page.get_by_role("navigation", name="Main")
    return [text.strip() for text in nav.get_by_role("link").all_inner_texts()]


def test_the_top_bar_shows_each_person_only_what_they_may_do(
    another_page: Callable[[], Page],
    live_server: LiveServer,
    sandbox: Environment,
    admin_user: User,
) -> None:
    """A viewer has no "New request" nor "Upload certificate"; a requester has them; an
    administrator has Settings, Outbox and "Django admin" as well. The current page's link is
    marked aria-current="page", and the person's name leads to their profile."""
    member("vera", Role.VIEWER, sandbox)
    member("rick", Role.REQUESTER, sandbox)
    url = live_server.url

    viewer = another_page()
    log_in_as(viewer, url, "vera", PASSWORD)
    expect(viewer.get_by_role("heading", name="Dashboard")).to_be_visible()
    labels = menu_labels(viewer)
    assert {"Dashboard", "Certificates", "Requests", "Calendar"} <= set(labels)
    assert not {"New request", "Upload certificate", "Settings", "Outbox", "Django admin"} & set(
        labels
    )
    expect(menu(viewer, "Dashboard")).to_have_attribute("aria-current", "page")
    menu(viewer, "Certificates").click()
    expect(menu(viewer, "Certificates")).to_have_attribute("aria-current", "page")
    expect(menu(viewer, "Dashboard")).not_to_have_attribute("aria-current", "page")
    expect(viewer.locator("[aria-current=page]")).to_have_count(1)
    viewer.get_by_role("link", name="vera", exact=True).click()
    assert urlparse(viewer.url).path == "/profile/"
    expect(viewer.get_by_role("link", name="vera", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(viewer.get_by_role("navigation", name="Main").locator("[aria-current]")).to_have_count(0)

    requester = another_page()
    log_in_as(requester, url, "rick", PASSWORD)
    expect(requester.get_by_role("heading", name="Dashboard")).to_be_visible()
    labels = menu_labels(requester)
    assert {"New request", "Upload certificate"} <= set(labels)
    assert not {"Settings", "Outbox", "Django admin"} & set(labels)
    menu(requester, "New request").click()
    expect(menu(requester, "New request")).to_have_attribute("aria-current", "page")

    administrator = another_page()
    log_in_as(administrator, url, "admin", "correct horse battery")
    expect(administrator.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert {"New request", "Upload certificate", "Settings", "Outbox", "Django admin"} <= set(
        menu_labels(administrator)
    )
    menu(administrator, "Settings").click()
    expect(menu(administrator, "Settings")).to_have_attribute("aria-current", "page")
    menu(administrator, "Outbox").click()
    expect(menu(administrator, "Outbox")).to_have_attribute("aria-current", "page")
    menu(administrator, "Django admin").click()
    assert urlparse(administrator.url).path == "/admin/"
    expect(administrator.get_by_role("heading", name="Site administration")).to_be_visible()
