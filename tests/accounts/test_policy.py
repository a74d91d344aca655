"""The second-factor policy (CERTDESK_MFA_REQUIRED): who is led to enrol at login, and what is
refused until they have a TOTP app or a passkey (issue 15).

"custodians" (the default) covers administrators and custodians, "everyone" every person,
"off" nobody. Someone covered without a factor cannot take a private key (PEM or PKCS#12, from
a certificate's page or a request's) nor destroy one, and is told to enrol.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Certificate, Environment, Key, Membership, Role
from certificates.services import Actor
from certificates.services.revocations import revocation_report_compromise
from tests.support.accounts import certificate_with_key

pytestmark = pytest.mark.django_db


PASSWORD = "a long passphrase for tests"
ENROL = "/accounts/second-factor/"


@pytest.fixture(autouse=True)
def _production_policy(settings: Any) -> None:
    """tests/settings.py turns the policy off for the older tests; here it is the default."""
    settings.CERTDESK_MFA_REQUIRED = "custodians"


def person(role: str | None, environment: Environment, name: str) -> User:
    user = User.objects.create_user(name, f"{name}@acme.example", PASSWORD)
    if role is not None:
        Membership.objects.create(user=user, environment=environment, role=role)
    return user


def logged_in(user: User) -> Client:
    """A client that logged in a moment ago (the login stamps the session: no sudo detour)."""
    client = Client()
    client.force_login(user)
    return client


def log_in(username: str, client: Client | None = None) -> str:
    """Log in through allauth's form; where the browser is sent next."""
    response = (client or Client()).post("/login/", {"login": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return str(response["Location"])


def enrol(user: User) -> None:
    TOTP.activate(user, generate_totp_secret())


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def certificate(sandbox: Environment, issue: Any) -> Certificate:
    return certificate_with_key(sandbox, issue)


def test_a_custodian_without_a_second_factor_is_led_to_enrol_at_login(sandbox: Environment) -> None:
    """The login leads to "Set up a second factor" (then on to where they were going), which
    says what is refused until then and offers both ways to enrol."""
    person(Role.CUSTODIAN, sandbox, "carol")
    client = Client()
    assert log_in("carol", client) == ENROL + "?next=%2F"
    page = text(client.get(ENROL + "?next=/certificates/"))
    assert "Set up a second factor" in page
    assert "private-key downloads and key destruction are refused" in page
    assert 'href="/accounts/2fa/totp/activate/"' in page
    assert 'href="/accounts/2fa/webauthn/add/"' in page
    assert '<a href="/certificates/">Not now</a>' in page
    # Every page reminds them until they enrol.
    assert "Your role needs a second factor" in text(client.get("/"))


def test_until_enrolled_a_custodian_cannot_take_a_private_key(
    sandbox: Environment, certificate: Certificate
) -> None:
    """PEM and PKCS#12 downloads, from the certificate's page and from the request's: each
    leads to enrolment with the reason, and nothing is exported. Once enrolled, it works."""
    carol = person(Role.CUSTODIAN, sandbox, "carol")
    client = logged_in(carol)
    attempts = [
        (f"/certificates/{certificate.pk}/key/", {"format": "pem"}),
        (
            f"/certificates/{certificate.pk}/key/",
            {"format": "pkcs12", "passphrase": "violet anchor thirty kettles"},
        ),
        (f"/requests/{certificate.signing_request_id}/key/", {"format": "pem"}),
    ]
    for url, data in attempts:
        refused = client.post(url, data)
        assert refused.status_code == 302
        assert refused["Location"].startswith(ENROL + "?next=")
    shown = text(client.post(attempts[0][0], attempts[0][1], follow=True))
    assert (
        "Your role needs a second factor before you can download a private key: set one up "
        "first (an authenticator app or a passkey)." in shown
    )
    assert "Set up a second factor" in shown
    assert not AuditEvent.objects.filter(action="key.exported").exists()

    enrol(carol)
    for url, data in attempts:
        taken = client.post(url, data)
        assert taken.status_code == 200
        assert taken["Content-Disposition"].startswith("attachment")
    assert AuditEvent.objects.filter(action="key.exported").count() == 3


def test_until_enrolled_a_custodian_cannot_destroy_a_compromised_key(
    sandbox: Environment, certificate: Certificate
) -> None:
    carol = person(Role.CUSTODIAN, sandbox, "carol")
    client = logged_in(carol)
    revocation_report_compromise(
        actor=Actor.cli(), certificate=certificate, suspected_since=date.today()
    )
    url = f"/certificates/{certificate.pk}/destroy-key/"
    refused = client.post(url, {"confirm": "destroy"})
    assert refused["Location"] == ENROL + "?next=" + url.replace("/", "%2F")
    assert "before you can destroy a key" in text(client.get(ENROL))
    key = Key.objects.get(pk=certificate.signing_request.key_id)
    assert key.has_private_key
    assert key.destroyed_at is None
    assert not AuditEvent.objects.filter(action="key.destroyed").exists()

    enrol(carol)
    destroyed = client.post(url, {"confirm": "destroy"}, follow=True)
    assert "The private key material is destroyed." in text(destroyed)


def test_an_administrator_is_covered_by_the_custodians_policy(
    sandbox: Environment, certificate: Certificate
) -> None:
    """An administrator holds every key: led to enrol at login, refused a key until then."""
    User.objects.create_superuser("root", "root@acme.example", PASSWORD)
    assert log_in("root").startswith(ENROL)
    client = logged_in(User.objects.get(username="root"))
    refused = client.post(f"/certificates/{certificate.pk}/key/", {"format": "pem"})
    assert refused["Location"].startswith(ENROL)
    assert not AuditEvent.objects.filter(action="key.exported").exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REQUESTER, None])
def test_custodians_policy_leaves_the_others_alone(role: str | None, sandbox: Environment) -> None:
    """A viewer, a requester or someone with no role goes straight on, and sees no reminder."""
    user = person(role, sandbox, "vera")
    assert log_in("vera") == "/"
    assert "Your role needs a second factor" not in text(logged_in(user).get("/"))


def test_everyone_policy_leads_a_viewer_to_enrol(settings: Any, sandbox: Environment) -> None:
    settings.CERTDESK_MFA_REQUIRED = "everyone"
    person(Role.VIEWER, sandbox, "vera")
    client = Client()
    assert log_in("vera", client).startswith(ENROL)
    page = text(client.get(ENROL))
    assert "Set up a second factor" in page
    assert "here, everyone needs one" in page


def test_everyone_policy_is_satisfied_by_a_second_factor(
    settings: Any, sandbox: Environment
) -> None:
    settings.CERTDESK_MFA_REQUIRED = "everyone"
    vera = person(Role.VIEWER, sandbox, "vera")
    enrol(vera)
    # With a factor the login asks for it (allauth's stage), not for an enrolment.
    assert log_in("vera") == "/accounts/2fa/authenticate/"


def test_off_policy_asks_nobody(
    settings: Any, sandbox: Environment, certificate: Certificate
) -> None:
    """Neither an administrator nor a custodian is led to enrol, and the custodian takes the
    key with a password alone."""
    settings.CERTDESK_MFA_REQUIRED = "off"
    User.objects.create_superuser("root", "root@acme.example", PASSWORD)
    carol = person(Role.CUSTODIAN, sandbox, "carol")
    assert log_in("root") == "/"
    assert log_in("carol") == "/"
    taken = logged_in(carol).post(f"/certificates/{certificate.pk}/key/", {"format": "pem"})
    assert taken.content.startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_the_last_factor_of_someone_under_the_policy_cannot_be_removed(
    sandbox: Environment,
) -> None:
    """Deactivating the only TOTP app of a custodian is refused; it stays."""
    carol = person(Role.CUSTODIAN, sandbox, "carol")
    enrol(carol)
    client = logged_in(carol)
    # The deactivation page wants a fresh reauthentication first.
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    refused = client.post("/accounts/2fa/totp/deactivate/")
    assert "You cannot deactivate two-factor authentication." in text(refused)
    assert Authenticator.objects.filter(user=carol, type=Authenticator.Type.TOTP).exists()
