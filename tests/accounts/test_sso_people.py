"""Who a single sign-on login is: an existing person matched by a verified address, a new
person with no role, a refused deactivated person or unverified address; the roles claim; and
what the audit log records of each."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Environment, Membership
from certificates.services.sso import parse_roles_claim
from tests.support.oidc import (
    ROLES_CLAIM,
    FakeIssuer,
    finish_login,
    logged_in_user_id,
    sso_settings,
    start_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def issuer(settings: Any, admin_user: User) -> Iterator[FakeIssuer]:
    # admin_user: certdesk is set up (without anyone, every page leads to /setup/).
    with FakeIssuer() as fake:
        sso_settings(settings, issuer=fake.url)
        yield fake


@pytest.fixture
def roles_issuer(settings: Any, issuer: FakeIssuer) -> FakeIssuer:
    settings.CERTDESK_OIDC_ROLES_CLAIM = ROLES_CLAIM
    return issuer


def sign_in(issuer: FakeIssuer, **claims: Any) -> tuple[Client, Any]:
    client = Client()
    response = finish_login(client, issuer, start_login(client), **claims)
    return client, response


def roles_of(user: User) -> dict[str, str]:
    return {
        membership.environment.slug: membership.role
        for membership in Membership.objects.filter(user=user).select_related("environment")
    }


# --- Matching and creating people ------------------------------------------------------------


def test_a_first_login_creates_a_person_with_no_role(
    issuer: FakeIssuer, sandbox: Environment
) -> None:
    client, response = sign_in(issuer, email="Dora.Explorer@example.com", name="Dora Explorer")
    assert response.status_code == 302
    user = User.objects.get(email__iexact="dora.explorer@example.com")
    assert logged_in_user_id(client) == str(user.pk)
    assert user.username == "dora.explorer"
    assert user.first_name == "Dora"
    assert not user.has_usable_password()
    assert roles_of(user) == {}
    assert not user.is_superuser
    created = AuditEvent.objects.get(action="account.sso_person_created")
    assert created.details["subject"] == "subject-1"
    assert created.details["username"] == "dora.explorer"
    # The person sees the dashboard, with nothing in it for them yet.
    page = client.get("/")
    assert page.status_code == 200


def test_a_new_persons_name_is_made_unique(issuer: FakeIssuer) -> None:
    User.objects.create_user("dora", "someone-else@example.com")
    sign_in(issuer, email="dora@example.com")
    assert User.objects.get(email="dora@example.com").username.startswith("dora")
    assert User.objects.get(email="dora@example.com").username != "dora"


def test_an_existing_person_is_matched_by_verified_address(issuer: FakeIssuer) -> None:
    dora = User.objects.create_user("dora", "dora@example.com", "a long passphrase 42")
    client, response = sign_in(issuer, email="DORA@example.com", sub="idp-dora")
    assert response.status_code == 302
    assert logged_in_user_id(client) == str(dora.pk)
    assert User.objects.filter(email__iexact="dora@example.com").count() == 1
    account = SocialAccount.objects.get(user=dora)
    assert account.uid == "idp-dora"
    assert account.provider == "sso"
    # Later logins find them by their subject, whatever the address says.
    client, _ = sign_in(issuer, email="dora.new@example.com", sub="idp-dora")
    assert logged_in_user_id(client) == str(dora.pk)


def test_an_address_stored_with_capitals_still_matches(issuer: FakeIssuer) -> None:
    """The first administrator's address is kept as typed; the provider's may be in lower case."""
    admin = User.objects.create_superuser("root", "Root.Admin@Example.com", "a long passphrase")
    client, _ = sign_in(issuer, email="root.admin@example.com")
    assert logged_in_user_id(client) == str(admin.pk)
    assert User.objects.filter(email__iexact="root.admin@example.com").count() == 1


def test_an_address_two_people_share_is_refused(issuer: FakeIssuer) -> None:
    User.objects.create_user("dora1", "Dora@example.com")
    User.objects.create_user("dora2", "dora@EXAMPLE.com")
    client, response = sign_in(issuer, email="dora@example.com")
    assert response.status_code == 401
    assert "already has this address on another account" in response.content.decode()
    assert logged_in_user_id(client) is None
    assert User.objects.filter(email__iexact="dora@example.com").count() == 2


def test_an_address_only_waiting_for_confirmation_matches_nobody(issuer: FakeIssuer) -> None:
    """Mallory types Dora's address on her own account (it waits for a confirmation Dora never
    gives): Dora's sign-in must not land in Mallory's account, nor make a second one."""
    mallory = User.objects.create_user("mallory", "mallory@example.com", "a long passphrase 42")
    EmailAddress.objects.create(user=mallory, email="dora@example.com", verified=False)
    client, response = sign_in(issuer, email="dora@example.com")
    assert response.status_code == 401
    assert logged_in_user_id(client) is None
    assert not SocialAccount.objects.exists()
    mallory.refresh_from_db()
    assert mallory.has_usable_password()
    assert not User.objects.filter(email="dora@example.com").exists()


def test_an_administrator_matched_by_address_keeps_the_break_glass_password(
    issuer: FakeIssuer, admin_user: User
) -> None:
    """allauth takes the password of an account matched through an address certdesk never
    confirmed; an administrator's is the way in when the provider is down, so it stays (the
    provider's verified address confirms theirs)."""
    EmailAddress.objects.create(user=admin_user, email=admin_user.email, verified=False)
    client, _ = sign_in(issuer, email=admin_user.email, sub="idp-admin")
    assert logged_in_user_id(client) == str(admin_user.pk)
    admin_user.refresh_from_db()
    assert admin_user.check_password("correct horse battery")
    assert EmailAddress.objects.get(user=admin_user).verified
    assert AuditEvent.objects.filter(action="account.sso_address_confirmed").count() == 1


def test_someone_else_matched_through_an_unconfirmed_address_loses_their_password(
    issuer: FakeIssuer,
) -> None:
    """The rule allauth keeps for everyone else: someone who typed another person's address
    into their account cannot keep a password to an account the owner of the address now
    signs in to."""
    dora = User.objects.create_user("dora", "dora@example.com", "a long passphrase 42")
    EmailAddress.objects.create(user=dora, email="dora@example.com", verified=False)
    sign_in(issuer, email="dora@example.com")
    dora.refresh_from_db()
    assert not dora.has_usable_password()


def test_an_unverified_address_is_refused_and_makes_no_account(issuer: FakeIssuer) -> None:
    dora = User.objects.create_user("dora", "dora@example.com", "a long passphrase 42")
    client, response = sign_in(issuer, email="dora@example.com", email_verified=False)
    page = response.content.decode()
    assert response.status_code == 401
    assert "Test IdP has not verified your email address" in page
    assert logged_in_user_id(client) is None
    assert User.objects.filter(email="dora@example.com").get() == dora
    assert not SocialAccount.objects.exists()
    refusal = AuditEvent.objects.get(action="account.sso_refused")
    assert refusal.details["email"] == "dora@example.com"


def test_an_unverified_address_of_nobody_makes_no_account_either(issuer: FakeIssuer) -> None:
    client, response = sign_in(issuer, email="new@example.com", email_verified="false")
    assert response.status_code == 401
    assert logged_in_user_id(client) is None
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_login_without_an_address_is_refused(issuer: FakeIssuer) -> None:
    client, response = sign_in(issuer, email=None)
    assert response.status_code == 401
    assert "did not give certdesk an email address" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_a_deactivated_person_is_refused(issuer: FakeIssuer) -> None:
    dora = User.objects.create_user("dora", "dora@example.com", is_active=False)
    client, response = sign_in(issuer, email="dora@example.com")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "This certdesk account is deactivated" in page.content.decode()
    assert logged_in_user_id(client) is None
    assert not SocialAccount.objects.filter(user=dora).exists()
    refusal = AuditEvent.objects.get(action="account.sso_refused")
    assert refusal.details["reason"] == "account deactivated"
    assert not AuditEvent.objects.filter(action="account.sso_login").exists()


def test_a_person_deactivated_after_connecting_is_refused(issuer: FakeIssuer) -> None:
    sign_in(issuer, email="dora@example.com")
    User.objects.filter(email="dora@example.com").update(is_active=False)
    client, response = sign_in(issuer, email="dora@example.com")
    assert response["Location"] == "/accounts/inactive/"
    assert logged_in_user_id(client) is None


# --- The audit log ---------------------------------------------------------------------------


def test_every_sso_login_is_audited_with_issuer_and_subject(
    issuer: FakeIssuer, admin_client: Client
) -> None:
    sign_in(issuer, email="dora@example.com", sub="idp-dora")
    sign_in(issuer, email="dora@example.com", sub="idp-dora")
    events = AuditEvent.objects.filter(action="account.sso_login").order_by("pk")
    assert events.count() == 2
    dora = User.objects.get(email="dora@example.com")
    for event in events:
        assert event.details == {
            "issuer": issuer.url,
            "subject": "idp-dora",
            "email": "dora@example.com",
        }
        assert event.actor_label == dora.username
        assert event.target_id == str(dora.pk)
    page = admin_client.get("/audit/", {"action": "account.sso_login"}).content.decode()
    assert "account.sso_login" in page
    assert issuer.url in page
    assert "idp-dora" in page


def test_no_token_is_kept_or_audited(issuer: FakeIssuer) -> None:
    sign_in(issuer, email="dora@example.com")
    recorded = str(list(AuditEvent.objects.values_list("details", flat=True)))
    account = SocialAccount.objects.get()
    assert "fake-access-token" not in recorded + str(account.extra_data)
    assert issuer.signed_id_token().split(".")[2] not in recorded + str(account.extra_data)


# --- The roles claim -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "roles", "ignored"),
    [
        (None, {}, 0),
        ([], {}, 0),
        (["certdesk:sandbox:viewer"], {"sandbox": "viewer"}, 0),
        ("certdesk:sandbox:viewer certdesk:production:custodian", None, 0),
        (["certdesk:sandbox:viewer", "certdesk:sandbox:custodian"], {"sandbox": "custodian"}, 0),
        (["certdesk:staging:viewer", "certdesk:sandbox:owner", "admins", 7], {}, 4),
        (["CERTDESK:sandbox:viewer", "certdesk:sandbox", "certdesk:sandbox:viewer:x"], {}, 3),
        ({"certdesk": "sandbox"}, {}, 1),
    ],
)
def test_the_roles_claim_is_read(value: object, roles: dict[str, str] | None, ignored: int) -> None:
    claimed = parse_roles_claim(value, environment_slugs={"sandbox", "production"})
    expected = roles if roles is not None else {"sandbox": "viewer", "production": "custodian"}
    assert claimed.roles == expected
    assert claimed.ignored == ignored


def test_without_the_claim_setting_roles_are_left_alone(
    issuer: FakeIssuer, sandbox: Environment
) -> None:
    dora = User.objects.create_user("dora", "dora@example.com")
    Membership.objects.create(user=dora, environment=sandbox, role="requester")
    sign_in(issuer, email="dora@example.com", **{ROLES_CLAIM: ["certdesk:sandbox:custodian"]})
    assert roles_of(dora) == {"sandbox": "requester"}
    assert not AuditEvent.objects.filter(action="account.sso_roles_applied").exists()


def test_a_first_login_with_the_claim_gets_the_claimed_roles(
    roles_issuer: FakeIssuer, sandbox: Environment, production: Environment
) -> None:
    client, _ = sign_in(
        roles_issuer,
        email="dora@example.com",
        **{ROLES_CLAIM: ["certdesk:sandbox:requester", "certdesk:production:viewer"]},
    )
    dora = User.objects.get(email="dora@example.com")
    assert roles_of(dora) == {"sandbox": "requester", "production": "viewer"}
    # What the person notices: the menu offers a new request in Sandbox.
    assert "New request" in client.get("/").content.decode()
    set_events = AuditEvent.objects.filter(action="settings.membership_set")
    assert set_events.count() == 2
    assert {event.actor_label for event in set_events} == {"sso claim"}
    summary = AuditEvent.objects.get(action="account.sso_roles_applied")
    assert summary.details["source"] == "sso claim"
    assert summary.details["issuer"] == roles_issuer.url
    assert {(c["environment"], c["role"]) for c in summary.details["changes"]} == {
        ("sandbox", "requester"),
        ("production", "viewer"),
    }


def test_a_later_login_with_changed_claims_changes_the_roles(
    roles_issuer: FakeIssuer, sandbox: Environment, production: Environment
) -> None:
    claim = {ROLES_CLAIM: ["certdesk:sandbox:requester", "certdesk:production:viewer"]}
    sign_in(roles_issuer, email="dora@example.com", **claim)
    dora = User.objects.get(email="dora@example.com")
    sign_in(roles_issuer, email="dora@example.com", **{ROLES_CLAIM: "certdesk:sandbox:custodian"})
    assert roles_of(dora) == {"sandbox": "custodian"}
    changed = AuditEvent.objects.filter(action="settings.membership_set").latest("pk")
    assert changed.details["role"] == "custodian"
    assert changed.details["previous_role"] == "requester"
    assert changed.actor_label == "sso claim"
    removed = AuditEvent.objects.get(action="settings.membership_removed")
    assert removed.details["role"] == "viewer"
    assert removed.environment == production
    assert removed.actor_label == "sso claim"
    # The same claims again change nothing and record no role change.
    before = AuditEvent.objects.filter(action__startswith="settings.membership").count()
    sign_in(roles_issuer, email="dora@example.com", **{ROLES_CLAIM: "certdesk:sandbox:custodian"})
    after = AuditEvent.objects.filter(action__startswith="settings.membership").count()
    assert after == before
    # A login whose claim names no role of certdesk's takes every role away.
    sign_in(roles_issuer, email="dora@example.com", **{ROLES_CLAIM: ["other-app:admin"]})
    assert roles_of(dora) == {}


def test_ignored_claim_values_are_counted_in_the_log_not_shown(
    roles_issuer: FakeIssuer, sandbox: Environment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="certificates.services.sso")
    values = ["certdesk:sandbox:viewer", "secret-project-x:admin", "certdesk:nowhere:viewer"]
    sign_in(roles_issuer, email="dora@example.com", **{ROLES_CLAIM: values})
    assert "2 value(s) that give no certdesk role" in caplog.text
    assert "secret-project-x" not in caplog.text
    assert "nowhere" not in caplog.text


def test_the_claim_can_come_from_the_user_information(
    roles_issuer: FakeIssuer, sandbox: Environment
) -> None:
    roles_issuer.userinfo = {
        "sub": "subject-1",
        "email": "dora@example.com",
        "email_verified": True,
        ROLES_CLAIM: ["certdesk:sandbox:viewer"],
    }
    sign_in(roles_issuer)
    assert roles_of(User.objects.get(email="dora@example.com")) == {"sandbox": "viewer"}


def test_an_administrator_keeps_every_role_whatever_the_claim(
    roles_issuer: FakeIssuer, admin_user: User, sandbox: Environment
) -> None:
    client, _ = sign_in(roles_issuer, email=admin_user.email, **{ROLES_CLAIM: []})
    assert logged_in_user_id(client) == str(admin_user.pk)
    admin_user.refresh_from_db()
    assert admin_user.is_superuser
    assert roles_of(admin_user) == {}
    assert not AuditEvent.objects.filter(action="account.sso_roles_applied").exists()


def test_a_claimed_custodian_is_led_to_a_second_factor(
    roles_issuer: FakeIssuer, settings: Any, sandbox: Environment
) -> None:
    """The claim's roles apply before the login ends, so the second-factor policy sees them."""
    settings.CERTDESK_MFA_REQUIRED = "custodians"
    _, response = sign_in(
        roles_issuer, email="dora@example.com", **{ROLES_CLAIM: ["certdesk:sandbox:custodian"]}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/second-factor/")
