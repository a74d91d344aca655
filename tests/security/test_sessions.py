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
