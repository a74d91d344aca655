"""Deactivating someone ends their sessions at once and withdraws their invitation; their
calendar feed stops answering (issue 15)."""

from __future__ import annotations

from importlib import import_module

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Environment, Invitation, Membership
from certificates.services import Actor, invitation_resend, user_deactivate, user_reactivate
from certificates.services.calendar import calendar_feed_replace
from tests.support.invitations import PASSWORD, invitation_emails, invite, token_in

pytestmark = pytest.mark.django_db


def logged_in(username: str) -> Client:
    """A browser that logged in through the login page (which records its session)."""
    client = Client(HTTP_USER_AGENT="Firefox test")
    response = client.post("/login/", {"login": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:300]
    assert client.get("/").status_code == 200
    return client


def session_exists(key: str) -> bool:
    return bool(import_module(settings.SESSION_ENGINE).SessionStore().exists(key))


@pytest.fixture
def alice(sandbox: Environment) -> User:
    user = User.objects.create_user("alice", "alice@acme.example", PASSWORD)
    Membership.objects.create(user=user, environment=sandbox, role="custodian")
    return user


def test_deactivation_ends_every_session_at_once(admin_client: Client, alice: User) -> None:
    """Both of alice's browsers: their sessions are deleted from the store when the
    administrator confirms (not at their next request), and each is at the login page next."""
    laptop, phone = logged_in("alice"), logged_in("alice")
    keys = [laptop.session.session_key, phone.session.session_key]
    assert all(key and session_exists(key) for key in keys)
    assert UserSession.objects.filter(user=alice).count() == 2

    admin_client.post(f"/settings/people/{alice.pk}/deactivate/", {"confirm": "yes"})

    assert not any(session_exists(key) for key in keys if key)
    assert not UserSession.objects.filter(user=alice).exists()
    for browser in (laptop, phone):
        response = browser.get("/certificates/")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    event = AuditEvent.objects.get(action="settings.user_deactivated")
    assert event.details["sessions_ended"] == 2
    # The administrator's own session is untouched.
    assert admin_client.get("/settings/people/").status_code == 200


def test_the_calendar_feed_answers_404_after_deactivation(alice: User) -> None:
    feed = f"/calendar/{calendar_feed_replace(actor=Actor.cli(), user=alice)}.ics"
    assert Client().get(feed).status_code == 200
    user_deactivate(actor=Actor.cli(), user=alice)
    assert Client().get(feed).status_code == 404


def test_deactivation_withdraws_the_open_invitation(sandbox: Environment) -> None:
    """The link stops working; after a reactivation, Resend gives a working one."""
    invitation, token = invite("bob@acme.example", [(sandbox, "viewer")])
    bob = invitation.user
    user_deactivate(actor=Actor.cli(), user=bob)
    invitation.refresh_from_db()
    assert invitation.withdrawn_at is not None
    assert Client().get(f"/invitations/{token}/").status_code == 404
    event = AuditEvent.objects.get(action="settings.user_deactivated")
    assert event.details["invitation_withdrawn"] is True

    user_reactivate(actor=Actor.cli(), user=bob)
    assert Client().get(f"/invitations/{token}/").status_code == 404
    invitation_resend(actor=Actor.cli(), user=bob)
    fresh = token_in(invitation_emails()[-1])
    assert Client().get(f"/invitations/{fresh}/").status_code == 200
    assert Invitation.objects.filter(user=bob, withdrawn_at__isnull=True).count() == 1
