"""Everyone's Profile: name, the reminder choice (administrators included), the account pages
that django-allauth serves inside certdesk's layout, and what is recorded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Environment, Profile
from certificates.selectors.reminders import owner_recipients_for
from tests.support.reminders import add_owners

pytestmark = pytest.mark.django_db


def test_everyone_reaches_their_profile_from_their_name_in_the_top_bar(
    member_client: Callable[..., Client], sandbox: Environment
) -> None:
    """A viewer's name links to /profile/, which shows their roles and second factor state."""
    client = member_client("viewer", sandbox)
    dashboard = client.get("/").content.decode()
    assert 'href="/profile/"' in dashboard
    page = client.get("/profile/").content.decode()
    assert "Viewer in Sandbox" in page
    assert "Second factor" in page
    assert "off" in page
    for link in (
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
    ):
        assert f'href="{link}"' in page


def test_a_person_changes_their_name_and_it_is_recorded(
    admin_client: Client, admin_user: User
) -> None:
    response = admin_client.post(
        "/profile/", {"first_name": "Ada", "last_name": "Lovelace", "receives_reminders": "on"}
    )
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert (admin_user.first_name, admin_user.last_name) == ("Ada", "Lovelace")
    event = AuditEvent.objects.get(action="account.profile_changed")
    assert event.details == {"changed": {"first_name": "Ada", "last_name": "Lovelace"}}
    # Saving again without a change records nothing more.
    admin_client.post(
        "/profile/", {"first_name": "Ada", "last_name": "Lovelace", "receives_reminders": "on"}
    )
    assert AuditEvent.objects.filter(action="account.profile_changed").count() == 1


def test_a_name_with_a_control_character_is_refused_and_nothing_changes(
    admin_client: Client, admin_user: User
) -> None:
    response = admin_client.post(
        "/profile/", {"first_name": "Ada\x1b[31m", "last_name": "", "receives_reminders": "on"}
    )
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.first_name == ""
    assert not AuditEvent.objects.filter(action="account.profile_changed").exists()


def test_administrators_receive_owner_reminders_of_every_environment(
    sandbox: Environment, production: Environment, admin_user: User
) -> None:
    """The first administrator was promised reminders: they get them, for every environment."""
    add_owners(sandbox)
    recipients = owner_recipients_for([sandbox, production])
    assert recipients[sandbox.pk] == [
        "alice@acme.example",
        "bob@acme.example",
        "admin@example.com",
        "team@acme.example",
    ]
    assert recipients[production.pk] == ["admin@example.com"]


def test_turning_reminders_off_on_the_profile_stops_them(
    client: Client, sandbox: Environment, admin_user: User
) -> None:
    """Unticking "Email me expiry reminders" removes the person from the recipients (an owner
    or an administrator), and ticking it again brings them back."""
    add_owners(sandbox)
    bob = User.objects.get(username="bob-sandbox")
    client.force_login(bob)
    client.post("/profile/", {"first_name": "", "last_name": ""})
    assert Profile.objects.get(user=bob).receives_reminders is False
    assert "bob@acme.example" not in owner_recipients_for([sandbox])[sandbox.pk]
    event = AuditEvent.objects.get(action="account.profile_changed")
    assert event.details == {"changed": {"receives_reminders": False}}
    client.post("/profile/", {"first_name": "", "last_name": "", "receives_reminders": "on"})
    assert "bob@acme.example" in owner_recipients_for([sandbox])[sandbox.pk]


def test_the_account_pages_of_allauth_render_in_certdesks_layout(admin_client: Client) -> None:
    """Email, password, second factors and sessions: the top bar, the account sub-navigation
    with the current page marked, and no 500 (allauth needs humanize for two of them)."""
    for url in (
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
        "/accounts/2fa/webauthn/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert 'aria-label="Your account"' in page, url
        assert 'class="topbar"' in page, url
