"""An administrator unlocks a locked-out account (or address) from Settings, and it is audited;
nobody else can (issue 12, point 12)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Environment, Role

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

PASSWORD = "alice's long password"
LOCKS = "/settings/people/locked/"


@pytest.fixture(autouse=True)
def _axes_on(settings: Any) -> None:
    """tests/settings.py turns axes off for the rest of the suite (Client.login); not here."""
    settings.AXES_ENABLED = True


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", password=PASSWORD)


def log_in(username: str, password: str, ip: str = "198.51.100.7") -> Response:
    return Client().post("/login/", {"login": username, "password": password}, REMOTE_ADDR=ip)


def text(response: Response) -> str:
    return " ".join(response.content.decode().split())


def lock(username: str) -> None:
    for _ in range(5):
        log_in(username, "wrong")
    assert log_in(username, PASSWORD).status_code == 429


def test_an_administrator_sees_the_locked_account_and_unlocks_it(
    admin_client: Client, alice: User
) -> None:
    """Settings lists alice as locked out with an Unlock button; pressing it lets alice log in
    at once, says so, and writes settings.login_unlocked naming her and the administrator."""
    lock("alice")
    page = admin_client.get(LOCKS)
    assert "Unlock alice" in text(page)
    done = admin_client.post(LOCKS, {"username": "alice"}, follow=True)
    assert "alice unlocked" in text(done)
    assert "No account is locked out." in text(done)
    assert log_in("alice", PASSWORD).status_code == 302
    event = AuditEvent.objects.get(action="settings.login_unlocked")
    assert event.actor_label == "admin"
    assert event.target_id == str(alice.pk)
    assert event.details["username"] == "alice"
    assert event.details["attempts_cleared"] >= 1


def test_an_administrator_unlocks_an_address(admin_client: Client, settings: Any) -> None:
    """An address past its own limit is listed and unlocked the same way, audited."""
    settings.CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for name in ("carol", "dave", "erin"):
        log_in(name, "wrong", ip="203.0.113.66")
    assert "Unlock 203.0.113.66" in text(admin_client.get(LOCKS))
    admin_client.post(LOCKS, {"ip": "203.0.113.66"})
    assert "No address is locked out." in text(admin_client.get(LOCKS))
    event = AuditEvent.objects.get(action="settings.login_unlocked")
    assert event.details["ip_address"] == "203.0.113.66"


def test_a_bad_unlock_request_is_a_message_not_an_error(admin_client: Client) -> None:
    """Neither a user name nor an address, or a garbage address: a message, nothing audited."""
    for data in ({}, {"ip": "not-an-address"}):
        response = admin_client.post(LOCKS, data, follow=True)
        assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="settings.login_unlocked").exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REQUESTER, Role.CUSTODIAN])
def test_only_administrators_can_unlock(
    member_client: Callable[..., Client], sandbox: Environment, alice: User, role: str
) -> None:
    """A member of any role gets 403 at the unlock and alice stays locked, unaudited."""
    lock("alice")
    client = member_client(role, sandbox)
    assert client.post(LOCKS, {"username": "alice"}).status_code == 403
    assert log_in("alice", PASSWORD).status_code == 429
    assert not AuditEvent.objects.filter(action="settings.login_unlocked").exists()
