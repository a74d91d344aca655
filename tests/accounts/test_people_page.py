"""Settings -> People (issue 15): everyone with an account, their roles, last login (or where
their invitation stands), second factor and state; inviting someone, resending an invitation,
resetting a second factor. Administrators only; everything in the audit log."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import AuditEvent, Environment, Invitation, Membership
from certificates.services import Actor, invitation_accept, user_deactivate
from certificates.views.access import LAST_AUTH_SESSION_KEY
from tests.support.invitations import PASSWORD, invitation_emails, invite, token_in

pytestmark = pytest.mark.django_db

PEOPLE = "/settings/people/"
INVITE = "/settings/people/invite/"


def text(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def row_of(response: Any, username: str) -> str:
    """The text of ``username``'s row of the People table."""
    page = response.content.decode()
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        if cells and cells[0].strip() == username:
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
    raise AssertionError(f"no row for {username}")


def enrol(user: User, *, passkey: bool = False) -> None:
    TOTP.activate(user, generate_totp_secret())
    RecoveryCodes.activate(user)
    if passkey:
        Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={})


def person(name: str, environment: Environment | None = None, role: str = "viewer") -> User:
    user = User.objects.create_user(name, f"{name}@acme.example", PASSWORD)
    if environment is not None:
        Membership.objects.create(user=user, environment=environment, role=role)
    return user


# --- The list ---------------------------------------------------------------------------------


def test_people_shows_roles_logins_invitations_second_factors_and_state(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    carol = person("carol", sandbox, "viewer")
    Membership.objects.create(user=carol, environment=production, role="custodian")
    carol.first_name, carol.last_name = "Carol", "Jones"
    carol.last_login = timezone.now().replace(year=2026, month=11, day=3, hour=9, minute=30)
    carol.save()
    enrol(carol)
    user_deactivate(actor=Actor.cli(), user=person("dave", sandbox, "requester"))
    start = timezone.now()
    with time_machine.travel(start - timedelta(hours=80), tick=False):
        invite("old@acme.example", [(sandbox, "viewer")])
    invitation, _ = invite("new@acme.example", [(production, "requester")])

    page = admin_client.get(PEOPLE)
    assert page.status_code == 200
    assert row_of(page, "admin").split(" admin@example.com ")[1].startswith("Administrator")
    carol_row = row_of(page, "carol")
    assert "Carol Jones carol@acme.example Custodian in Production, Viewer in Sandbox" in carol_row
    assert "2026-11-03 09:30" in carol_row
    assert " on active " in carol_row
    assert "Deactivate carol" in carol_row
    assert "Reset carol's second factor" in carol_row
    assert "Resend invitation" not in carol_row
    dave_row = row_of(page, "dave")
    assert " off deactivated " in dave_row
    assert "Reactivate dave" in dave_row
    new_row = row_of(page, "new@acme.example")
    expires = invitation.expires_at.strftime("%Y-%m-%d %H:%M")
    assert f"invited, not yet accepted — expires {expires} UTC" in new_row
    assert "Resend invitation to new@acme.example" in new_row
    assert "Reset" not in new_row
    old_row = row_of(page, "old@acme.example")
    assert "invitation expired" in old_row
    assert "Resend invitation to old@acme.example" in old_row
    # Deactivated people come last; nobody is offered to deactivate themselves.
    assert text(page).index("dave") > text(page).index("old@acme.example")
    assert "Deactivate admin" not in text(page)
    assert 'href="/settings/people/invite/"' in page.content.decode()


def test_the_list_reads_as_many_queries_for_many_people(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    """Roles, invitations and second factors come with the people: more people, no more
    queries."""

    def add_people(prefix: str, count: int) -> None:
        for n in range(count):
            user = person(f"{prefix}{n}", sandbox, "custodian")
            Membership.objects.create(user=user, environment=production, role="viewer")
            enrol(user)
            invite(f"{prefix}{n}-invited@acme.example", [(sandbox, "viewer")])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(PEOPLE).status_code == 200
        return len(queries)

    add_people("a", 1)
    count()  # the first visit of a session writes what later ones do not
    few = count()
    add_people("b", 5)
    assert count() == few


def test_people_is_for_administrators_only(
    client: Client, sandbox: Environment, admin_user: User
) -> None:
    custodian = person("carol", sandbox, "custodian")
    client.force_login(custodian)
    bob = person("bob", sandbox)
    enrol(bob)
    for url in (
        PEOPLE,
        INVITE,
        f"/settings/people/{bob.pk}/second-factor/reset/",
        f"/settings/people/{bob.pk}/invitation/resend/",
    ):
        assert client.post(url, {"confirm": "yes", "email": "x@acme.example"}).status_code == 403
    assert Authenticator.objects.filter(user=bob).count() == 2
    assert not User.objects.filter(email="x@acme.example").exists()


# --- Inviting -------------------------------------------------------------------------------


def test_inviting_from_the_page(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    """A select per environment; "No role" gives none. The person is invited, the page says
    where the email went and until when, and the link is nowhere on the page."""
    response = admin_client.post(
        INVITE,
        {
            "email": "Alice@Acme.example",
            "first_name": "Alice",
            "last_name": "",
            "role_sandbox": "custodian",
            "role_production": "",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == PEOPLE
    invitation = Invitation.objects.get()
    page = text(response)
    assert (
        "Invitation sent to alice@acme.example; the link works once, until "
        f"{invitation.expires_at.strftime('%Y-%m-%d %H:%M')} UTC." in page
    )
    [message] = invitation_emails()
    assert token_in(message) not in response.content.decode()
    assert list(Membership.objects.values_list("environment__slug", "role")) == [
        ("sandbox", "custodian")
    ]
    assert AuditEvent.objects.filter(action="account.invited", actor_label="admin").exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not an address"}, "email", "Enter a valid email address."),
        ({"email": "admin@example.com"}, "email", "already admin's address"),
        ({"role_sandbox": "owner"}, "role_sandbox", "Select a valid choice"),
        ({"first_name": "Eve\nBcc: x"}, "first_name", "line breaks"),
    ],
)
def test_a_mistake_on_the_invite_page_is_named_next_to_its_field(
    admin_client: Client,
    sandbox: Environment,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = admin_client.post(INVITE, {"email": "eve@acme.example", **data})
    assert response.status_code == 200
    errors = response.context["form"].errors.get(field, [])
    assert any(message in error for error in errors), errors
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_inviting_asks_for_the_password_again_after_five_minutes(
    admin_client: Client, sandbox: Environment
) -> None:
    """Inviting gives roles: like any role change, it needs a recent password."""
    session = admin_client.session
    session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp() - 6 * 60
    session.save()
    response = admin_client.post(INVITE, {"email": "eve@acme.example", "role_sandbox": "viewer"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not User.objects.filter(email="eve@acme.example").exists()


def test_members_page_and_settings_point_to_inviting(
    admin_client: Client, sandbox: Environment
) -> None:
    for url in ("/settings/", "/settings/environments/sandbox/members/"):
        assert 'href="/settings/people/invite/"' in admin_client.get(url).content.decode()
    assert admin_client.get("/settings/people/add/").status_code == 404


# --- Resending ------------------------------------------------------------------------------


def test_resending_from_the_page_sends_a_new_link_and_kills_the_old(
    admin_client: Client, sandbox: Environment
) -> None:
    invitation, old = invite("alice@acme.example", [(sandbox, "viewer")])
    response = admin_client.post(
        f"/settings/people/{invitation.user.pk}/invitation/resend/", follow=True
    )
    assert "A new invitation was sent to alice@acme.example" in text(response)
    assert "The previous link no longer works." in text(response)
    new = token_in(invitation_emails()[-1])
    assert new != old
    assert Client().get(f"/invitations/{old}/").status_code == 404
    assert Client().get(f"/invitations/{new}/").status_code == 200
    assert AuditEvent.objects.filter(action="account.invitation_resent").count() == 1


def test_resending_to_someone_who_accepted_says_so(
    admin_client: Client, sandbox: Environment
) -> None:
    invitation, token = invite("alice@acme.example")
    invitation_accept(token=token, password=PASSWORD, first_name="", last_name="", ip=None)
    response = admin_client.post(
        f"/settings/people/{invitation.user.pk}/invitation/resend/", follow=True
    )
    assert "alice@acme.example has accepted their invitation already" in text(response)
    assert len(invitation_emails()) == 1
    assert "Resend invitation" not in row_of(admin_client.get(PEOPLE), "alice@acme.example")


# --- Resetting a second factor ----------------------------------------------------------------


def test_resetting_a_second_factor_asks_then_removes_every_factor(
    admin_client: Client, sandbox: Environment
) -> None:
    """The first POST shows the confirmation; the confirmed one removes the app, the passkey
    and the recovery codes; the audit log records what was removed."""
    carol = person("carol", sandbox, "custodian")
    enrol(carol, passkey=True)
    url = f"/settings/people/{carol.pk}/second-factor/reset/"
    confirm = admin_client.post(url)
    assert confirm.status_code == 200
    assert "Reset carol's second factor?" in text(confirm)
    assert Authenticator.objects.filter(user=carol).count() == 3

    done = admin_client.post(url, {"confirm": "yes"}, follow=True)
    assert "carol's second factor is reset" in text(done)
    assert not Authenticator.objects.filter(user=carol).exists()
    assert " off active " in row_of(done, "carol")
    event = AuditEvent.objects.get(action="account.second_factor_reset")
    assert (event.actor_label, event.target_id) == ("admin", str(carol.pk))
    assert event.details["removed"] == {"totp": 1, "webauthn": 1, "recovery_codes": 1}


def test_a_second_factor_reset_is_refused_on_yourself_and_on_nobody(
    admin_client: Client, admin_user: User, sandbox: Environment
) -> None:
    enrol(admin_user)
    mine = admin_client.post(
        f"/settings/people/{admin_user.pk}/second-factor/reset/", {"confirm": "yes"}, follow=True
    )
    assert "You cannot reset your own second factor here" in text(mine)
    assert Authenticator.objects.filter(user=admin_user).count() == 2
    assert "Reset admin's" not in text(mine)
    bob = person("bob", sandbox)
    none = admin_client.post(
        f"/settings/people/{bob.pk}/second-factor/reset/", {"confirm": "yes"}, follow=True
    )
    assert "bob has no second factor to reset." in text(none)
    assert not AuditEvent.objects.filter(action="account.second_factor_reset").exists()


def test_people_actions_on_an_unknown_account_are_404(admin_client: Client) -> None:
    for url in (
        "/settings/people/999999/second-factor/reset/",
        "/settings/people/999999/invitation/resend/",
    ):
        assert admin_client.post(url, {"confirm": "yes"}).status_code == 404


# --- The audit page ---------------------------------------------------------------------------


def test_every_account_event_is_on_the_audit_page(
    admin_client: Client, sandbox: Environment
) -> None:
    """Invited, resent, accepted, second factor reset, deactivated: all on /audit/."""
    invitation, _ = invite("alice@acme.example", [(sandbox, "custodian")])
    admin_client.post(f"/settings/people/{invitation.user.pk}/invitation/resend/")
    invitation_accept(
        token=token_in(invitation_emails()[-1]),
        password=PASSWORD,
        first_name="",
        last_name="",
        ip=None,
    )
    enrol(invitation.user)
    admin_client.post(
        f"/settings/people/{invitation.user.pk}/second-factor/reset/", {"confirm": "yes"}
    )
    admin_client.post(f"/settings/people/{invitation.user.pk}/deactivate/", {"confirm": "yes"})
    page = text(admin_client.get("/audit/"))
    for action in (
        "account.invited",
        "account.invitation_resent",
        "account.invitation_accepted",
        "account.second_factor_reset",
        "settings.user_deactivated",
        "settings.membership_set",
    ):
        assert action in page, action
