"""allauth's second-factor pages as certdesk shows them (templates/mfa/): the login's second
step and the sudo confirmation by code say what went wrong and let nobody in on a bad code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import User
from django.test import Client

from tests.support import totp

pytestmark = pytest.mark.django_db


PASSWORD = "a long passphrase for tests"
SECOND_STEP = "/accounts/2fa/authenticate/"


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def secret() -> str:
    return str(generate_totp_secret())


@pytest.fixture
def carol(secret: str) -> User:
    user = User.objects.create_user("carol", "carol@acme.example", PASSWORD)
    TOTP.activate(user, secret)
    return user


def test_the_login_asks_for_the_code_and_refuses_a_wrong_one(carol: User, secret: str) -> None:
    client = Client()
    asked = client.post("/login/", {"login": "carol", "password": PASSWORD})
    assert asked["Location"] == SECOND_STEP
    page = text(client.get(SECOND_STEP))
    assert "Second factor" in page
    assert "Your password was right." in page
    assert "Cancel and log out" in page

    wrong = client.post(SECOND_STEP, {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code." in text(wrong)
    assert client.get("/").status_code == 302  # still not logged in

    with time_machine.travel(totp.next_window(), tick=False):
        right = client.post(SECOND_STEP, {"code": totp.code_now(secret)})
    assert right["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_recovery_code_logs_in_once(carol: User) -> None:
    codes = RecoveryCodes.activate(carol).get_unused_codes()
    client = Client()
    client.post("/login/", {"login": "carol", "password": PASSWORD})
    assert client.post(SECOND_STEP, {"code": codes[0]})["Location"] == "/"

    again = Client()
    again.post("/login/", {"login": "carol", "password": PASSWORD})
    assert "Incorrect code." in text(again.post(SECOND_STEP, {"code": codes[0]}))


def test_sudo_by_code_refuses_a_wrong_code(carol: User) -> None:
    client = Client()
    client.force_login(carol)
    url = "/accounts/2fa/reauthenticate/?next=/profile/"
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        page = text(client.get(url))
        assert "Confirm it is you" in page
        assert "Use your password" in page  # the other way, offered
        wrong = client.post(url, {"code": "000000"})
    assert "Incorrect code." in text(wrong)
    assert "Confirm it is you" in text(wrong)
