"""The invitation page, /invitations/<token>/ (issue 15): who invited you, your roles and
address, and a form to choose your password; then you are logged in (and led to enrol a second
factor if the policy asks). A link that is no good is a 404 page that explains, saying nothing
of the account."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from certificates.models import AuditEvent, Environment, Invitation
from certificates.services import Actor, user_deactivate
from tests.support.invitations import PASSWORD, invite

pytestmark = pytest.mark.django_db

FORM = {"first_name": "Alice", "last_name": "Martin", "password1": PASSWORD, "password2": PASSWORD}


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def url(token: str) -> str:
    return f"/invitations/{token}/"


@pytest.fixture
def invited(sandbox: Environment, production: Environment, admin_user: User) -> str:
    """Alice, invited by Ada Admin as custodian in Production and viewer in Sandbox."""
    admin_user.first_name, admin_user.last_name = "Ada", "Admin"
    admin_user.save()
    _, token = invite(
        "alice@acme.example",
        [(sandbox, "viewer"), (production, "custodian")],
        actor=Actor(user=admin_user),
    )
    return token


def test_the_page_says_who_invited_the_roles_and_the_address(invited: str) -> None:
    response = Client().get(url(invited))
    assert response.status_code == 200
    page = text(response)
    assert "Ada Admin invited you to certdesk" in page
    assert "Custodian in Production, Viewer in Sandbox" in page
    assert "alice@acme.example" in page
    for field in ("first_name", "last_name", "password1", "password2"):
        assert f'name="{field}"' in page
    # Django's password validators, explained.
    assert "at least 12 characters" in page
    assert "commonly used password" in page
    assert "no-store" in response["Cache-Control"]


def test_the_page_loads_nothing_from_elsewhere_and_sends_no_referrer_away(invited: str) -> None:
    """The token is in the page's URL: a resource from another site would receive it in the
    Referer header. Every src, href and action is this site's, and the policy is same-origin."""
    response = Client().get(url(invited))
    html = response.content.decode()
    targets = re.findall(r'(?:src|href|action)="([^"]*)"', html)
    assert targets
    assert [target for target in targets if not target.startswith(("/", "#"))] == []
    assert "@import" not in html
    assert "url(http" not in html
    assert response["Referrer-Policy"] == "same-origin"


def test_accepting_logs_in_and_opens_the_dashboard(invited: str, settings: Any) -> None:
    """With the policy off, the viewer-and-custodian goes straight to the dashboard, logged in
    with the password they chose (which then works at the login page too)."""
    settings.CERTDESK_MFA_REQUIRED = "off"
    client = Client()
    response = client.post(url(invited), FORM)
    assert response.status_code == 302
    assert response["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Welcome to certdesk: your password is set." in text(dashboard)
    alice = User.objects.get(username="alice@acme.example")
    assert (alice.first_name, alice.last_name) == ("Alice", "Martin")
    assert Client().post("/login/", {"login": "alice@acme.example", "password": PASSWORD})[
        "Location"
    ] in ("/", "/accounts/second-factor/?next=%2F")


def test_a_custodian_under_the_policy_is_led_to_enrol(invited: str, settings: Any) -> None:
    settings.CERTDESK_MFA_REQUIRED = "custodians"
    client = Client()
    response = client.post(url(invited), FORM)
    assert response["Location"] == "/accounts/second-factor/"
    assert "Set up a second factor" in text(client.get(response["Location"]))


def test_a_viewer_under_the_default_policy_is_not(sandbox: Environment, settings: Any) -> None:
    settings.CERTDESK_MFA_REQUIRED = "custodians"
    _, token = invite("vera@acme.example", [(sandbox, "viewer")])
    assert Client().post(url(token), FORM)["Location"] == "/"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password2": "something else 42"}, "password2", "The two passwords differ"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password1": "", "password2": ""}, "password1", "This field is required"),
        ({"first_name": "A\u2028B"}, "first_name", "control characters"),
    ],
)
def test_a_mistake_is_named_next_to_its_field_and_the_link_still_works(
    invited: str, change: dict[str, str], field: str, message: str
) -> None:
    response = Client().post(url(invited), FORM | change)
    assert response.status_code == 200
    errors = response.context["form"].errors.get(field, [])
    assert any(message in error for error in errors), errors
    assert PASSWORD not in response.content.decode()
    assert Invitation.objects.get().accepted_at is None
    assert Client().post(url(invited), FORM).status_code == 302


def test_the_passwords_are_hidden_from_error_reports(invited: str) -> None:
    response = Client().post(url(invited), FORM | {"password2": "x"})
    assert set(response.wsgi_request.sensitive_post_parameters) == {"password1", "password2"}  # type: ignore[attr-defined]


def test_a_second_submit_is_a_used_link(invited: str) -> None:
    """A double click: the first submit accepts; the second gets the used-link page."""
    assert Client().post(url(invited), FORM).status_code == 302
    again = Client().post(url(invited), FORM | {"password1": "x" * 20, "password2": "x" * 20})
    assert again.status_code == 404
    assert "was used already" in text(again)
    assert User.objects.get(username="alice@acme.example").check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="account.invitation_accepted").count() == 1


def bad_link_page(token: str) -> str:
    response = Client().get(url(token))
    assert response.status_code == 404
    page = text(response)
    assert "This invitation link does not work" in page
    assert "alice" not in page.lower()
    return page


def test_an_unknown_token_is_a_404_page_that_explains(invited: str) -> None:
    assert "is not valid" in bad_link_page("x" * 43)
    assert "is not valid" in bad_link_page(invited[:-1])


def test_an_expired_link_is_a_404_page_that_says_to_ask_for_a_new_one(invited: str) -> None:
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert "has expired. Ask a certdesk administrator" in bad_link_page(invited)
        refused = Client().post(url(invited), FORM)
        assert refused.status_code == 404
    assert not User.objects.get(username="alice@acme.example").has_usable_password()


def test_a_withdrawn_link_is_a_404_page(invited: str) -> None:
    user_deactivate(actor=Actor.cli(), user=User.objects.get(username="alice@acme.example"))
    assert "no longer works" in bad_link_page(invited)


def test_with_password_login_off_the_account_is_ready_but_not_logged_in(
    invited: str, settings: Any
) -> None:
    """CERTDESK_PASSWORD_LOGIN=false: people sign in through SSO only, so the invitation does
    not open a password session either; it sends them to the login page."""
    settings.CERTDESK_PASSWORD_LOGIN = False
    client = Client()
    response = client.post(url(invited), FORM)
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert Invitation.objects.get().accepted_at is not None
