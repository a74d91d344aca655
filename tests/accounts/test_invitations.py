"""Invitations, through the services (issue 15): an administrator gives an address and roles,
the person gets a one-time link for 72 hours and chooses their own password. Refusals name
every problem at once and keep nothing; the token is in the email and nowhere else."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from certificates import services
from certificates.models import AuditEvent, Environment, Invitation, Membership
from certificates.selectors.people import invitation_token_sha256
from certificates.services import Actor, InvitationLinkError, ServiceError, invitations
from tests.support.environments import migrated_environment
from tests.support.factories import member
from tests.support.invitations import (
    PASSWORD,
    UnreachableMailServer,
    invitation_emails,
    invite,
    token_in,
)

pytestmark = pytest.mark.django_db


def accept(token: str, password: str = PASSWORD, **names: str) -> User:
    return services.invitation_accept(
        token=token,
        password=password,
        first_name=names.get("first_name", ""),
        last_name=names.get("last_name", ""),
        ip="198.51.100.7",
    )


def everything_recorded() -> str:
    """Every audit event's details, as text: where a token or a password must never be."""
    return str(list(AuditEvent.objects.values_list("details", "target_label")))


# --- Creating -------------------------------------------------------------------------------


def test_an_invitation_makes_the_account_its_roles_and_sends_one_link(
    sandbox: Environment, production: Environment, admin_user: User
) -> None:
    """The account exists at once (user name = the address in lower case, no usable password,
    an unconfirmed address), with its roles; one email carries the link, who invited, the
    roles and the expiry; the database keeps the token's hash only; the audit log says it."""
    admin_user.first_name, admin_user.last_name = "Ada", "Admin"
    admin_user.save()
    before = timezone.now()
    invitation, link = services.invitation_create(
        actor=Actor(user=admin_user),
        email="  Alice.Martin@Acme.Example ",
        roles=[(sandbox, "viewer"), (production, "custodian")],
        first_name="Alice",
        last_name="Martin",
    )
    alice = User.objects.get(username="alice.martin@acme.example")
    assert (alice.email, alice.first_name, alice.is_active) == (
        "alice.martin@acme.example",
        "Alice",
        True,
    )
    assert not alice.has_usable_password()
    address = EmailAddress.objects.get(user=alice)
    assert (address.email, address.primary, address.verified) == (
        "alice.martin@acme.example",
        True,
        False,
    )
    assert dict(Membership.objects.filter(user=alice).values_list("environment__slug", "role")) == {
        "sandbox": "viewer",
        "production": "custodian",
    }
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert link == f"{django_settings.CERTDESK_SITE_URL}/invitations/{token}/"
    assert invitation.token_sha256 == invitation_token_sha256(token)
    assert token not in str(list(Invitation.objects.values()))
    assert timedelta(hours=72) <= invitation.expires_at - before < timedelta(hours=72, minutes=1)

    [message] = invitation_emails()
    assert message.to == ["alice.martin@acme.example"]
    assert token_in(message) == token
    body = " ".join(str(message.body).split())
    assert "Hello Alice Martin," in body
    assert "Ada Admin invited you to certdesk" in body
    assert "Your roles: Custodian in Production, Viewer in Sandbox." in body
    assert "Your user name: alice.martin@acme.example" in body
    assert invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC") in body
    html = str(message.alternatives[0][0])  # type: ignore[attr-defined]
    assert f'href="{link}"' in html

    event = AuditEvent.objects.get(action="account.invited")
    assert (event.actor_label, event.target_id) == ("admin", str(alice.pk))
    assert event.details["roles"] == {"sandbox": "viewer", "production": "custodian"}
    assert token not in everything_recorded()


def test_the_command_line_invites_as_a_certdesk_administrator(sandbox: Environment) -> None:
    """Without a user (the operator on the command line), the email says an administrator."""
    invite("bob@acme.example", [(sandbox, "requester")])
    [message] = invitation_emails()
    assert "a certdesk administrator invited you" in str(message.body)
    assert AuditEvent.objects.get(action="account.invited").actor_label == "cli"


def test_every_problem_is_named_at_once_and_nothing_is_kept(sandbox: Environment) -> None:
    """A bad address, a name with a line break, an environment that does not exist, a made-up
    role and an environment given twice: one refusal naming each, no account, no email."""
    ghost = Environment(pk=999_999, name="Staging", slug="staging")
    with pytest.raises(ServiceError) as refused:
        services.invitation_create(
            actor=Actor.cli(),
            email="not an address",
            roles=[(sandbox, "owner"), (ghost, "viewer"), (sandbox, "viewer")],
            first_name="Eve\nBcc: x@evil.example",
        )
    errors = refused.value.errors
    assert "not an email address" in errors["email"]
    assert "line breaks" in errors["first_name"]
    assert "'owner' is not a role" in errors["role_sandbox"]
    assert "no environment 'staging'" in errors["role_staging"]
    assert "Sandbox is given twice" in errors["roles"]
    assert not User.objects.exists()
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "address", ['"b\x1bob"@acme.example', "x" * 140 + "@acme.example", ""], ids=repr
)
def test_an_unusable_address_is_refused(address: str) -> None:
    with pytest.raises(ServiceError) as refused:
        services.invitation_create(actor=Actor.cli(), email=address, roles=[])
    assert refused.value.field == "email"
    assert not User.objects.exists()


def test_an_address_in_use_says_whose_and_suggests_resend_while_invited(
    sandbox: Environment,
) -> None:
    """An address of an account is refused naming the account; for someone still invited, the
    refusal points to Resend; a deactivated one, to reactivation."""
    User.objects.create_user("carol", "carol@acme.example", PASSWORD)
    with pytest.raises(ServiceError, match="already carol's address"):
        services.invitation_create(actor=Actor.cli(), email="Carol@acme.example", roles=[])
    invite("dave@acme.example")
    with pytest.raises(ServiceError, match=r"invited already .* use Resend invitation"):
        services.invitation_create(actor=Actor.cli(), email="dave@acme.example", roles=[])
    erin = User.objects.create_user("erin", "erin@acme.example", PASSWORD, is_active=False)
    with pytest.raises(ServiceError, match="erin, whose account is deactivated"):
        services.invitation_create(actor=Actor.cli(), email=erin.email, roles=[])
    assert len(invitation_emails()) == 1


def test_only_administrators_invite(sandbox: Environment) -> None:
    custodian = member("custodian", sandbox)
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            actor=Actor(user=custodian), email="eve@acme.example", roles=[(sandbox, "custodian")]
        )
    assert not User.objects.filter(email="eve@acme.example").exists()
    assert mail.outbox == []


def test_a_mail_server_that_cannot_be_reached_keeps_nothing(
    sandbox: Environment, settings: Any
) -> None:
    """The invitation is sent synchronously: if the mail server refuses, the account, its roles,
    the invitation and the audit events are all undone, and the refusal says why."""
    settings.CERTDESK_EMAIL_BACKEND = f"{UnreachableMailServer.__module__}.UnreachableMailServer"
    with pytest.raises(ServiceError, match="could not reach its mail server") as refused:
        invite("alice@acme.example", [(sandbox, "custodian")])
    assert refused.value.field == "email"
    assert not User.objects.filter(email="alice@acme.example").exists()
    assert not Membership.objects.exists()
    assert not Invitation.objects.exists()
    assert not EmailAddress.objects.exists()
    assert not AuditEvent.objects.exists()


# --- Resending ------------------------------------------------------------------------------


def test_resending_kills_the_old_link_and_sends_a_new_one(sandbox: Environment) -> None:
    """The open invitation is withdrawn: its link no longer works; the new one does, for 72
    hours from the resend."""
    first, old = invite("alice@acme.example", [(sandbox, "viewer")])
    alice = first.user
    with time_machine.travel(timezone.now() + timedelta(hours=70)):
        second, link = services.invitation_resend(actor=Actor.cli(), user=alice)
        assert second.expires_at - timezone.now() >= timedelta(hours=71, minutes=59)
    new = link.rstrip("/").rsplit("/", 1)[-1]
    first.refresh_from_db()
    assert first.withdrawn_at is not None
    assert [token_in(message) for message in invitation_emails()] == [old, new]
    assert "Your roles: Viewer in Sandbox." in " ".join(str(invitation_emails()[1].body).split())
    with pytest.raises(InvitationLinkError, match="a newer invitation was sent"):
        accept(old)
    assert accept(new).pk == alice.pk
    event = AuditEvent.objects.get(action="account.invitation_resent")
    assert event.details["previous_link_withdrawn"] is True
    assert old not in everything_recorded()
    assert new not in everything_recorded()


def test_resending_is_refused_once_accepted_or_deactivated(sandbox: Environment) -> None:
    invitation, token = invite("alice@acme.example")
    accept(token)
    with pytest.raises(ServiceError, match="accepted their invitation already"):
        services.invitation_resend(actor=Actor.cli(), user=invitation.user)
    bob = invite("bob@acme.example")[0].user
    services.user_deactivate(actor=Actor.cli(), user=bob)
    with pytest.raises(ServiceError, match="deactivated; reactivate it"):
        services.invitation_resend(actor=Actor.cli(), user=bob)
    assert len(invitation_emails()) == 2
    assert not AuditEvent.objects.filter(action="account.invitation_resent").exists()


# --- Accepting ------------------------------------------------------------------------------


def test_accepting_sets_the_password_confirms_the_address_and_works_once(
    sandbox: Environment,
) -> None:
    """The password is set (hashed), the name too, the address confirmed by the link; the
    invitation is spent, and the same link a second time is refused."""
    invitation, token = invite("alice@acme.example", [(sandbox, "viewer")])
    alice = accept(token, first_name=" Alice ", last_name="Martin")
    assert alice.check_password(PASSWORD)
    assert (alice.first_name, alice.last_name) == ("Alice", "Martin")
    assert EmailAddress.objects.get(user=alice).verified
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    event = AuditEvent.objects.get(action="account.invitation_accepted")
    assert (event.actor_label, event.ip, event.origin) == (
        "alice@acme.example",
        "198.51.100.7",
        "browser",
    )
    with pytest.raises(InvitationLinkError, match="used already"):
        accept(token, password="another long passphrase 43")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert PASSWORD not in everything_recorded()
    assert token not in everything_recorded()


def test_a_link_expires_after_72_hours(sandbox: Environment) -> None:
    """Valid a minute before the 72 hours are up, refused a minute after, saying to ask an
    administrator for a new one."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _, early = invite("alice@acme.example")
        _, late = invite("bob@acme.example")
    with time_machine.travel(start + timedelta(hours=72, minutes=-1), tick=False):
        assert accept(early).username == "alice@acme.example"
    with (
        time_machine.travel(start + timedelta(hours=72, minutes=1), tick=False),
        pytest.raises(InvitationLinkError, match=r"expired\. Ask a certdesk administrator"),
    ):
        accept(late)
    assert not User.objects.get(username="bob@acme.example").has_usable_password()


def test_the_expiry_follows_the_setting(sandbox: Environment, settings: Any) -> None:
    settings.CERTDESK_INVITATION_HOURS = 1
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _, token = invite("alice@acme.example")
    with (
        time_machine.travel(start + timedelta(minutes=61), tick=False),
        pytest.raises(InvitationLinkError, match="expired"),
    ):
        accept(token)


def test_a_withdrawn_or_unknown_link_is_refused_without_saying_whose(
    sandbox: Environment,
) -> None:
    """Deactivating the invited person withdraws the link; an unknown token is refused. Neither
    refusal names the account."""
    invitation, token = invite("alice@acme.example")
    services.user_deactivate(actor=Actor.cli(), user=invitation.user)
    for bad in (token, "x" * 43, ""):
        with pytest.raises(InvitationLinkError) as refused:
            accept(bad)
        assert "alice" not in refused.value.message
    assert not User.objects.get(pk=invitation.user.pk).has_usable_password()


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short 1", "too short"),
        ("alice@acme.example", "too similar"),
        ("password1234", "too common"),
        ("123456789012345", "entirely numeric"),
    ],
)
def test_the_password_rules_apply_and_the_link_keeps_working(
    sandbox: Environment, password: str, expected: str
) -> None:
    """Django's validators (12 characters, not like the address, not common, not all digits):
    a refusal on ``password1`` changes nothing, and the link still works afterwards."""
    invitation, token = invite("alice@acme.example")
    with pytest.raises(ServiceError) as refused:
        accept(token, password=password)
    assert not isinstance(refused.value, InvitationLinkError)
    assert expected in refused.value.errors["password1"]
    assert password not in refused.value.message
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert accept(token).check_password(PASSWORD)


def test_a_password_like_the_name_typed_is_refused(sandbox: Environment) -> None:
    _, token = invite("alice@acme.example")
    with pytest.raises(ServiceError, match="too similar"):
        accept(token, password="Maximilienne-Dupont", first_name="Maximilienne-Dupont")


def test_a_double_submit_accepts_once(sandbox: Environment) -> None:
    """The second of two submits of the same form is refused as used; the first password
    stays."""
    _, token = invite("alice@acme.example")
    accept(token)
    with pytest.raises(InvitationLinkError, match="used already"):
        accept(token, password="the second passphrase 43")
    assert User.objects.get(username="alice@acme.example").check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="account.invitation_accepted").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_on_postgresql_accept_once(
    postgres: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads accept the same link at the same moment. Each waits (up to two seconds),
    after reading the invitation, for the other to have read it too: without the row lock both
    would, and both would accept. With it, the second is held at its read until the first
    commits, and then sees the link used."""
    migrated_environment("Sandbox")
    _, token = invite("alice@acme.example")
    start = threading.Barrier(2)
    both_read = threading.Barrier(2)
    check = invitations._password_problem

    def check_after_both_read(password: str, candidate: User) -> str | None:
        # Broken after two seconds when the other submit is held by the lock: the expected case.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=2)
        return check(password, candidate)

    monkeypatch.setattr(invitations, "_password_problem", check_after_both_read)
    outcomes: list[str] = []

    def submit(password: str) -> None:
        try:
            start.wait(timeout=30)
            accept(token, password=password)
            outcomes.append(password)
        except InvitationLinkError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=(password,))
        for password in ("first long passphrase 1", "second long passphrase 2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2
    assert outcomes.count("refused") == 1
    [winner] = [outcome for outcome in outcomes if outcome != "refused"]
    assert User.objects.get(username="alice@acme.example").check_password(winner)
    assert AuditEvent.objects.filter(action="account.invitation_accepted").count() == 1
