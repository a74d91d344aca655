"""The token pages: Profile, API tokens (make, list, revoke one's own; the secret shown once;
custody asks for the password again) and Settings, People, API tokens (administrators see and
revoke everyone's)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from certificates.models import ApiToken, AuditEvent, Environment
from certificates.views.access import LAST_AUTH_SESSION_KEY
from tests.support.api import ApiClient

pytestmark = pytest.mark.django_db


def logged_in(user: User, *, password_minutes_ago: float = 0) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp() - password_minutes_ago * 60
    session.save()
    return client


def form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "deploy-prod",
        "environments": ["sandbox"],
        "scopes": ["read"],
        "expires_on": f"{timezone.localdate() + timedelta(days=30):%Y-%m-%d}",
        **changes,
    }


def test_the_profile_links_to_the_token_page(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    page = logged_in(alice).get("/profile/").content.decode()
    assert 'href="/profile/tokens/"' in page


def test_a_new_token_is_shown_once_and_works(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    client = logged_in(alice)
    response = client.post("/profile/tokens/", form())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    token = ApiToken.objects.get()
    secret = html.split('id="api-token" type="text" readonly value="')[1].split('"')[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == token.token_sha256
    assert ApiClient(secret).get("/environments").status_code == 200
    listed = client.get("/profile/tokens/").content.decode()
    assert secret not in listed
    assert token.prefix in listed
    assert "deploy-prod" in listed
    assert secret.encode() not in b"".join(str(value).encode() for value in client.session.values())
    event = AuditEvent.objects.get(action="api_token.created")
    assert (event.actor_label, event.origin) == ("alice", "browser")


def test_refusals_show_next_to_their_fields(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    response = logged_in(alice).post(
        "/profile/tokens/",
        form(scopes=["request"], expires_on=f"{timezone.localdate() + timedelta(days=400)}"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "do not allow request" in errors["scopes"][0]
    assert "a year at most" in errors["expires_on"][0]
    assert not ApiToken.objects.exists()


def test_custody_asks_for_the_password_again(person: Any, sandbox: Environment) -> None:
    carla = person("carla", ("custodian", sandbox)).user
    stale = logged_in(carla, password_minutes_ago=6)
    response = stale.post("/profile/tokens/", form(scopes=["read", "custody"]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not ApiToken.objects.exists()
    fresh = logged_in(carla)
    assert fresh.post("/profile/tokens/", form(scopes=["read", "custody"])).status_code == 200
    assert ApiToken.objects.get().scopes == ["read", "custody"]
    # Without custody, no password is asked.
    assert stale.post("/profile/tokens/", form(name="reader")).status_code == 200


def test_revoking_ones_own_token_only(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox))
    bob = person("bob", ("viewer", sandbox))
    secret = alice.token("read", environments=[sandbox], name="mine")
    token = ApiToken.objects.get()
    assert logged_in(bob.user).post(f"/profile/tokens/{token.pk}/revoke/").status_code == 404
    response = logged_in(alice.user).post(f"/profile/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert response["Location"] == "/profile/tokens/"
    assert ApiClient(secret).get("/environments").status_code == 401
    page = logged_in(alice.user).get("/profile/tokens/").content.decode()
    assert "revoked" in page
    assert "Revoke mine" not in page


def test_administrators_see_and_revoke_every_token(
    person: Any, sandbox: Environment, admin_user: User
) -> None:
    alice = person("alice", ("viewer", sandbox))
    secret = alice.token("read", environments=[sandbox], name="deploy")
    alice_client = logged_in(alice.user)
    assert alice_client.get("/settings/people/tokens/").status_code == 403
    admin = logged_in(admin_user)
    page = admin.get("/settings/people/tokens/").content.decode()
    assert "alice" in page
    assert "Revoke deploy of alice" in page
    token = ApiToken.objects.get()
    assert admin.post(f"/settings/people/tokens/{token.pk}/revoke/").status_code == 302
    assert ApiClient(secret).get("/environments").status_code == 401
    event = AuditEvent.objects.get(action="api_token.revoked")
    assert (event.actor_label, event.details["owner"]) == ("admin", "alice")


def test_last_used_shows_when_and_where(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox))
    ApiClient(alice.token("read", environments=[sandbox])).get("/environments")
    page = logged_in(alice.user).get("/profile/tokens/").content.decode()
    assert "from <code>127.0.0.1</code>" in page


def test_someone_without_a_role_is_told_why_there_is_no_form(db: None) -> None:
    nobody = User.objects.create_user("nobody")
    page = logged_in(nobody).get("/profile/tokens/").content.decode()
    assert "You have no role in any environment yet" in page
