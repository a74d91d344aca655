"""The login page with single sign-on, and CERTDESK_PASSWORD_LOGIN=false: only administrators
keep a password (break-glass), without the page telling an outsider whose accounts those are."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from tests.support.oidc import sso_settings

pytestmark = pytest.mark.django_db

PASSWORD = "a long passphrase 42"
ADMIN_PASSWORD = "correct horse battery"  # tests/conftest.py's admin_user
SENTENCE = "Password login is turned off; sign in with Test IdP."


@pytest.fixture
def dora(db: None) -> User:
    return User.objects.create_user("dora", "dora@example.com", PASSWORD)


@pytest.fixture
def sso_only(settings: Any, admin_user: User) -> None:
    sso_settings(settings, issuer="https://idp.example.com", password_login=False)


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def log_in(client: Client, login: str, password: str) -> Any:
    return client.post("/login/", {"login": login, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_login_page_offers_single_sign_on_when_configured(
    settings: Any, admin_user: User
) -> None:
    assert "Sign in with" not in text(Client().get("/login/"))
    sso_settings(settings, issuer="https://idp.example.com")
    page = text(Client().get("/login/"))
    assert '<button type="submit" class="primary">Sign in with Test IdP</button>' in page
    assert 'action="/accounts/oidc/sso/login/?process=login"' in page
    # Password login is on: the form is there for everyone, not hidden as break-glass.
    assert "or with your password" in page
    assert "break-glass" not in page


def test_with_password_login_off_the_form_is_break_glass_and_says_why(sso_only: None) -> None:
    page = text(Client().get("/login/"))
    assert "Sign in with Test IdP" in page
    assert "<summary>Administrator password login (break-glass)</summary>" in page
    assert SENTENCE in page
    assert '<details class="break-glass">' in page  # closed until someone tries


def test_a_non_administrator_password_is_refused_like_a_wrong_one(
    sso_only: None, dora: User
) -> None:
    """The right password of someone password login does not cover gets the very answer a wrong
    password gets: the page tells nobody which accounts are administrators'."""
    client = Client()
    refused = log_in(client, "dora", PASSWORD)
    assert not logged_in(client)
    wrong = log_in(Client(), "dora", "not her password")
    assert refused.status_code == wrong.status_code == 200

    def visible(response: Any) -> str:
        # The lockout counter differs by one between the two attempts; the rest is identical.
        page = re.sub(r"\d+ attempts? left", "N attempts left", text(response))
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert visible(refused) == visible(wrong)
    assert SENTENCE in text(refused)
    assert '<details class="break-glass" open>' in text(refused)


def test_an_administrator_still_logs_in_with_a_password(sso_only: None, admin_user: User) -> None:
    client = Client()
    response = log_in(client, "admin", ADMIN_PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_password_login_on_lets_everyone_in(settings: Any, admin_user: User, dora: User) -> None:
    sso_settings(settings, issuer="https://idp.example.com", password_login=True)
    client = Client()
    assert log_in(client, "dora", PASSWORD).status_code == 302
    assert logged_in(client)


def test_no_reset_link_for_someone_password_login_does_not_cover(
    sso_only: None, dora: User, admin_user: User
) -> None:
    for address in ("dora@example.com", admin_user.email):
        response = Client().post("/accounts/password/reset/", {"email": address})
        assert response.status_code == 302  # the same answer for both
    (sent,) = mail.outbox
    assert sent.to == [admin_user.email]


def test_reset_links_go_out_when_password_login_is_on(settings: Any, dora: User) -> None:
    sso_settings(settings, issuer="https://idp.example.com", password_login=True)
    Client().post("/accounts/password/reset/", {"email": "dora@example.com"})
    (sent,) = mail.outbox
    assert sent.to == ["dora@example.com"]


@pytest.mark.parametrize("path", ["/accounts/password/change/", "/accounts/password/set/"])
def test_the_password_pages_say_password_login_is_off(
    sso_only: None, dora: User, path: str
) -> None:
    if path.endswith("set/"):
        # Someone made by a first SSO login: no password at all.
        dora.set_unusable_password()
        dora.save()
    client = Client()
    client.force_login(dora)
    page = text(client.get(path))
    assert SENTENCE in page
    assert 'type="password"' not in page


def test_an_administrator_can_still_change_their_password(
    sso_only: None, admin_client: Client
) -> None:
    page = text(admin_client.get("/accounts/password/change/"))
    assert "Password login is turned off" not in page
    assert 'type="password"' in page
