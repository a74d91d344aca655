"""Login throttling (django-axes): per user name and per address, at /login/ and at the
password re-entry before a key download; the lockout page; unlocking; the password hasher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

import config.settings
from certificates.views import access
from tests.support.manage import run_manage

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

PASSWORD = "alice's long password"
LOCKED = (
    "Too many failed logins for this account or address. Try again after 15 minutes, or ask "
    "an administrator to unlock it."
)


@pytest.fixture(autouse=True)
def _axes_on(settings: Any) -> None:
    """tests/settings.py turns axes off for the rest of the suite (Client.login); not here."""
    settings.AXES_ENABLED = True


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def bob(db: None) -> User:
    return User.objects.create_user("bob", password="bob's long password")


def log_in(client: Client, username: str, password: str, ip: str = "127.0.0.1") -> Response:
    return client.post("/login/", {"login": username, "password": password}, REMOTE_ADDR=ip)


def text(response: Response) -> str:
    return " ".join(response.content.decode().split())


def logged_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_the_fifth_failure_locks_and_even_the_right_password_is_refused(
    client: Client, alice: User
) -> None:
    """Four wrong passwords get the form again; the fifth gets the lockout page (429, with
    the cool-off in minutes); then the right password is refused too."""
    for _ in range(4):
        assert log_in(client, "alice", "wrong").status_code == 200
    locked = log_in(client, "alice", "wrong")
    assert locked.status_code == 429
    assert LOCKED in text(locked)
    right = log_in(client, "alice", PASSWORD)
    assert right.status_code == 429
    assert not logged_in(client)


def test_failures_are_counted_per_user_name_across_addresses(client: Client, alice: User) -> None:
    """Guesses at one account from five addresses (a botnet) lock that account everywhere."""
    for n in range(5):
        log_in(client, "alice", "wrong", ip=f"198.51.100.{n}")
    assert log_in(client, "alice", PASSWORD, ip="203.0.113.9").status_code == 429


def test_one_colleagues_failures_do_not_lock_the_others_behind_the_same_address(
    client: Client, alice: User, bob: User
) -> None:
    """Five failures for alice from the office's one NAT address lock alice, not bob: bob logs
    in from that very address with his password."""
    for _ in range(5):
        log_in(client, "alice", "wrong", ip="198.51.100.7")
    assert log_in(Client(), "alice", PASSWORD, ip="198.51.100.7").status_code == 429
    colleague = Client()
    assert log_in(colleague, "bob", "bob's long password", ip="198.51.100.7").status_code == 302
    assert logged_in(colleague)


def test_an_address_is_locked_only_past_its_own_higher_limit(
    client: Client, alice: User, bob: User
) -> None:
    """One address trying many accounts (spraying) is locked at
    CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT (50), for every account; before that it is not, and
    another address is never."""
    assert config.settings.CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT == 50
    for n in range(49):
        log_in(client, f"user{n}", "wrong", ip="198.51.100.7")
    before = Client()
    assert log_in(before, "bob", "bob's long password", ip="198.51.100.7").status_code == 302
    log_in(client, "user49", "wrong", ip="198.51.100.7")
    assert log_in(Client(), "bob", "bob's long password", ip="198.51.100.7").status_code == 429
    elsewhere = Client()
    assert log_in(elsewhere, "bob", "bob's long password", ip="203.0.113.9").status_code == 302
    assert logged_in(elsewhere)


def test_a_failed_login_says_how_many_attempts_are_left(client: Client, alice: User) -> None:
    """After each failure the login page counts down the attempts left for the account."""
    first = log_in(client, "alice", "wrong")
    assert "4 attempts left before logins are refused for 15 minutes." in text(first)
    for _ in range(2):
        log_in(client, "alice", "wrong")
    fourth = log_in(client, "alice", "wrong")
    assert "1 attempt left before logins are refused for 15 minutes." in text(fourth)


def test_the_password_reentry_says_how_many_attempts_are_left(client: Client, alice: User) -> None:
    """The re-entry before a key download counts down like the login page."""
    client.force_login(alice)
    wrong = client.post("/accounts/reauthenticate/", {"password": "wrong", "next": "/"})
    assert "4 attempts left before logins are refused" in text(wrong)


def test_the_lockout_ends_after_the_cool_off(client: Client, alice: User) -> None:
    """CERTDESK_LOGIN_COOLOFF_MINUTES (15) after the last failure, the password works again."""
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            log_in(client, "alice", "wrong")
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert log_in(Client(), "alice", PASSWORD, ip="203.0.113.9").status_code == 429
    # That refused attempt counted as a failure too: the cool-off runs from it.
    with time_machine.travel(start + timedelta(minutes=14 + 16), tick=False):
        assert log_in(client, "alice", PASSWORD).status_code == 302
        assert logged_in(client)


def test_the_admin_login_is_throttled_too(client: Client, admin_user: User) -> None:
    """The Django admin's own login page counts failures like /login/."""
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"})
    assert log_in(client, "admin", "correct horse battery").status_code == 429


def test_a_success_does_not_wipe_the_failures_of_its_address(
    client: Client, alice: User, bob: User
) -> None:
    """An attacker with an account of their own cannot reset the count by logging in with it
    between guesses at someone else's password."""
    for _ in range(4):
        log_in(client, "alice", "wrong", ip="198.51.100.7")
    attacker = Client()
    assert log_in(attacker, "bob", "bob's long password", ip="198.51.100.7").status_code == 302
    log_in(client, "alice", "wrong", ip="198.51.100.7")
    assert log_in(client, "alice", PASSWORD, ip="203.0.113.9").status_code == 429


# --- the password re-entry before a key download ---------------------------------------------


def test_the_password_reentry_counts_failures_and_ends_the_session(
    client: Client, alice: User
) -> None:
    """A logged-in session cannot guess its user's password at /reauthenticate/: the fifth
    wrong password shows the lockout page and logs the session out; the account is locked."""
    client.force_login(alice)
    for _ in range(4):
        wrong = client.post("/accounts/reauthenticate/", {"password": "wrong", "next": "/"})
        assert "That is not your password" in text(wrong)
    locked = client.post("/accounts/reauthenticate/", {"password": "wrong", "next": "/"})
    assert locked.status_code == 429
    assert LOCKED in text(locked)
    assert not logged_in(client)
    assert log_in(Client(), "alice", PASSWORD, ip="203.0.113.9").status_code == 429


def test_the_right_password_at_reentry_still_passes(client: Client, alice: User) -> None:
    """Counting failures does not get in the way of the owner."""
    client.force_login(alice)
    client.post("/accounts/reauthenticate/", {"password": "wrong", "next": "/"})
    right = client.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": "/"})
    assert right.status_code == 302
    assert right["Location"] == "/"


# --- unlocking -------------------------------------------------------------------------------


def test_an_administrator_unlocks_a_user_from_the_command_line(client: Client, alice: User) -> None:
    """`manage.py axes_reset_username alice` (docs/operations.md) lifts the lockout at once."""
    for n in range(5):
        log_in(client, "alice", "wrong", ip=f"198.51.100.{n}")
    assert log_in(client, "alice", PASSWORD, ip="203.0.113.9").status_code == 429
    call_command("axes_reset_username", "alice", stdout=None)
    assert log_in(client, "alice", PASSWORD, ip="203.0.113.9").status_code == 302


def test_access_attempts_are_in_the_admin_for_superusers_only(
    client: Client, alice: User, admin_user: User
) -> None:
    """Superusers see the failed attempts in the admin (read-only); staff cannot."""
    for _ in range(2):
        log_in(client, "alice", "wrong")
    staff = User.objects.create_user("staff", password="another long pass", is_staff=True)
    staff_client = Client()
    staff_client.force_login(staff)
    assert staff_client.get("/admin/axes/accessattempt/").status_code == 302
    admin = Client()
    admin.force_login(admin_user)
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "alice" in page.content.decode()


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "behind_proxy", "counted"),
    [
        ("", False, "172.17.0.1"),
        ("198.51.100.7", False, "172.17.0.1"),
        ("203.0.113.5, 198.51.100.7", True, "198.51.100.7"),
        ("not-an-address", True, "172.17.0.1"),
    ],
)
def test_failures_are_counted_against_the_address_the_proxy_saw(
    settings: Any, forwarded: str, behind_proxy: bool, counted: str
) -> None:
    """Behind the TLS proxy (here on the docker bridge), the address it appended to
    X-Forwarded-For (never one the client wrote first); without it, or when the header is
    garbage, the connection's address."""
    settings.CERTDESK_BEHIND_PROXY = behind_proxy
    request = RequestFactory().post("/login/", REMOTE_ADDR="172.17.0.1")
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    assert access.client_ip(request) == counted


def test_new_passwords_are_hashed_with_argon2_in_production_settings() -> None:
    """The project's PASSWORD_HASHERS (the tests use MD5 for speed) make Argon2 hashes."""
    with override_settings(PASSWORD_HASHERS=config.settings.PASSWORD_HASHERS):
        assert make_password("a long passphrase 42").startswith("argon2$")


@pytest.mark.slow
def test_the_limits_come_from_the_environment(tmp_path: Any) -> None:
    """CERTDESK_LOGIN_FAILURE_LIMIT, CERTDESK_LOGIN_COOLOFF_MINUTES and
    CERTDESK_SESSION_IDLE_MINUTES set axes' limit and cool-off and the session's age."""
    show = (
        "from django.conf import settings as s; "
        "print(s.AXES_ENABLED, s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), "
        "s.SESSION_COOKIE_AGE)"
    )
    defaults = run_manage(tmp_path, "shell", "-v", "0", "-c", show)
    assert defaults.stdout.split() == ["True", "5", "900.0", "1800"], defaults.stderr
    chosen = run_manage(
        tmp_path,
        "shell",
        "-v",
        "0",
        "-c",
        show,
        CERTDESK_LOGIN_FAILURE_LIMIT="3",
        CERTDESK_LOGIN_COOLOFF_MINUTES="60",
        CERTDESK_SESSION_IDLE_MINUTES="10",
    )
    assert chosen.stdout.split() == ["True", "3", "3600.0", "600"], chosen.stderr
