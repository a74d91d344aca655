"""What allauth does to an account is recorded and shown on the audit page; a TOTP secret is
never stored in clear; a wrong second-factor code counts towards the account's lockout."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent
from config.environment import new_encryption_key
from tests.support.commands import run
from tests.support.totp import code_now

pytestmark = pytest.mark.django_db

PASSWORD = "the long old password"


@pytest.fixture
def person(db: None) -> User:
    return User.objects.create_user("carol", "carol@example.com", PASSWORD)


@pytest.fixture
def carol(client: Client, person: User) -> Client:
    response = client.post("/login/", {"login": "carol", "password": PASSWORD})
    assert response.status_code == 302
    return client


def enrol_totp(client: Client) -> str:
    """Enrol an authenticator app the way a person does: open the page, type the code."""
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": code_now(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(secret)


def test_a_person_without_a_role_changes_their_own_password(carol: Client, person: User) -> None:
    """The review's first finding: non-administrators could not change their password."""
    new = "a brand new long password"
    response = carol.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password(new)
    event = AuditEvent.objects.get(action="account.password_changed")
    assert event.actor == person
    assert new not in str(event.details)
    assert PASSWORD not in str(event.details)


def test_enrolling_and_removing_an_authenticator_app_is_recorded_and_its_secret_encrypted(
    carol: Client, person: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        secret = enrol_totp(carol)
    totp = Authenticator.objects.get(user=person, type=Authenticator.Type.TOTP)
    # allauth would keep the base32 secret as it is; certdesk seals it with its encryption keys.
    assert secret not in str(totp.data)
    assert str(totp.data["secret"]).startswith("certdesk-vault:")
    assert AuditEvent.objects.filter(
        action="account.second_factor_added", actor=person, details__type="totp"
    ).exists()
    with django_capture_on_commit_callbacks(execute=True):
        carol.post("/accounts/2fa/totp/deactivate/")
    assert not Authenticator.objects.filter(user=person, type=Authenticator.Type.TOTP).exists()
    assert AuditEvent.objects.filter(
        action="account.second_factor_removed", details__type="totp"
    ).exists()
    page = carol.get("/audit/?action=account.second_factor_added")
    # carol is no custodian: the audit page is not hers (administrators read it).
    assert page.status_code == 403


def test_the_login_asks_for_the_code_of_the_enrolled_app(
    carol: Client, client: Client, person: User
) -> None:
    secret = enrol_totp(carol)
    fresh = Client()
    first = fresh.post("/login/", {"login": "carol", "password": PASSWORD})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert fresh.get("/").status_code == 302  # not logged in before the code
    second = fresh.post("/accounts/2fa/authenticate/", {"code": code_now(secret)})
    assert second.status_code == 302
    assert fresh.get("/").status_code == 200


def test_wrong_codes_at_the_second_step_lock_the_account(
    carol: Client, person: User, settings: Any
) -> None:
    """Five wrong codes after the right password: the account is locked like after five wrong
    passwords, and the login in progress is dropped."""
    settings.AXES_ENABLED = True
    enrol_totp(carol)
    attacker = Client()
    assert attacker.post("/login/", {"login": "carol", "password": PASSWORD}).status_code == 302
    for _ in range(4):
        wrong = attacker.post("/accounts/2fa/authenticate/", {"code": "000000"})
        assert wrong.status_code == 200
    locked = attacker.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert locked.status_code == 429
    again = Client().post("/login/", {"login": "carol", "password": PASSWORD})
    assert again.status_code == 429


def test_an_email_change_is_confirmed_by_a_link_then_recorded(
    carol: Client, person: User, mailoutbox: list[Any]
) -> None:
    """The new address only replaces the old one once its owner follows the link."""
    assert carol.get("/accounts/email/").status_code == 200
    response = carol.post("/accounts/email/", {"action_add": "", "email": "carol@new.example"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.email == "carol@example.com"
    link = next(
        line for line in mailoutbox[-1].body.splitlines() if "/accounts/confirm-email/" in line
    )
    path = link[link.index("/accounts/confirm-email/") :].strip()
    carol.post(path)
    person.refresh_from_db()
    assert person.email == "carol@new.example"
    assert AuditEvent.objects.filter(
        action="account.email_changed", details__email="carol@new.example"
    ).exists()


def test_key_rotation_moves_the_second_factor_secrets_too(
    carol: Client, person: User, settings: Any
) -> None:
    """rotate_encryption_keys re-seals the authenticator app's secret and the recovery codes'
    seed under the new key, so removing the old key afterwards does not lock anyone out of
    their second factor: both still work with the new key alone."""
    old, new = new_encryption_key(), new_encryption_key()
    settings.CERTDESK_ENCRYPTION_KEYS = [old]
    secret = enrol_totp(carol)
    codes = carol.get("/accounts/2fa/recovery-codes/").context["unused_codes"]
    settings.CERTDESK_ENCRYPTION_KEYS = [new, old]
    run("rotate_encryption_keys")
    event = AuditEvent.objects.get(action="encryption.rotated")
    assert event.details["second_factors_reencrypted"] == 2
    settings.CERTDESK_ENCRYPTION_KEYS = [new]
    by_app = Client()
    assert by_app.post("/login/", {"login": "carol", "password": PASSWORD}).status_code == 302
    assert by_app.post("/accounts/2fa/authenticate/", {"code": code_now(secret)}).status_code == 302
    assert by_app.get("/").status_code == 200
    by_code = Client()
    assert by_code.post("/login/", {"login": "carol", "password": PASSWORD}).status_code == 302
    assert by_code.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert by_code.get("/").status_code == 200
