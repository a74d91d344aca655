"""Password reset by email that tells an outsider nothing, and the session list with "sign out
everywhere else"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "the long old password"


@pytest.fixture
def dora(db: None) -> User:
    return User.objects.create_user("dora", "dora@example.com", PASSWORD)


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def test_a_reset_answers_alike_for_an_account_and_for_a_stranger(
    client: Client, dora: User, mailoutbox: list[Any]
) -> None:
    """Whether the address has an account or not, the page says the same thing and leads to
    the same place; only the account's owner gets an email (a stranger's address gets none)."""
    known = client.post("/accounts/password/reset/", {"email": "dora@example.com"}, follow=True)
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    assert text(known) == text(unknown)
    assert [message.to for message in mailoutbox] == [["dora@example.com"]]


def test_the_reset_link_sets_a_new_password_once_and_it_is_recorded(
    client: Client, dora: User, mailoutbox: list[Any]
) -> None:
    client.post("/accounts/password/reset/", {"email": "dora@example.com"})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[0].body)
    assert link is not None
    page = client.get(link.group(1), follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link.group(1)
    new = "a fresh and long password"
    done = client.post(form_url, {"password1": new, "password2": new})
    assert done.status_code == 302
    dora.refresh_from_db()
    assert dora.check_password(new)
    event = AuditEvent.objects.get(action="account.password_reset")
    assert event.target_id == str(dora.pk)
    assert new not in str(event.details)
    # The link is spent.
    again = Client().get(link.group(1), follow=True)
    assert "invalid" in text(again).lower()


def test_sign_out_everywhere_else_ends_the_other_sessions_only(dora: User) -> None:
    """Profile -> Sessions lists the person's sessions; "sign out everywhere else" ends the
    others (the laptop at home is logged out), keeps this one, and is recorded."""
    here, elsewhere = Client(), Client()
    for browser in (here, elsewhere):
        assert browser.post("/login/", {"login": "dora", "password": PASSWORD}).status_code == 302
        browser.get("/")
    assert UserSession.objects.filter(user=dora).count() == 2
    page = here.get("/accounts/sessions/")
    assert page.status_code == 200
    response = here.post("/accounts/sessions/", {})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert UserSession.objects.filter(user=dora).count() == 1
    assert AuditEvent.objects.get(action="account.sessions_ended").details == {"sessions": 1}
