"""Sessions end after CERTDESK_SESSION_IDLE_MINUTES (30) without a request; each request
pushes the end back, so an active user is never logged out in the middle of their work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_session_lasts_as_long_as_the_user_is_active_and_ends_when_idle(
    client: Client, admin_user: User
) -> None:
    """Requests every 29 minutes keep the session for an hour and more; 31 idle minutes end
    it, and the next page asks for the login."""
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        client.force_login(admin_user)
    for minutes in (29, 58, 87):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200, f"logged out after {minutes} minutes"
    with time_machine.travel(start + timedelta(minutes=87 + 31), tick=False):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_an_active_session_still_ends_at_its_absolute_lifetime(
    client: Client, admin_user: User
) -> None:
    """CERTDESK_SESSION_MAX_HOURS (12) after the login the session ends, however active: a
    request every 20 minutes keeps it until 11 h 50, and the first one past 12 h asks for the
    login again."""
    assert settings.CERTDESK_SESSION_MAX_HOURS == 12
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        client.force_login(admin_user)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200, f"logged out after {minutes} minutes"
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_a_session_without_its_login_time_is_ended(client: Client, admin_user: User) -> None:
    """A session made before the absolute lifetime existed (no login time recorded) is logged
    out rather than kept forever."""
    client.force_login(admin_user)
    session = client.session
    del session["certdesk_logged_in_at"]
    session.save()
    assert client.get("/").status_code == 302
