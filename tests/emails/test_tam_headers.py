"""Every email to the TAM can be answered by a person (issue 16): Reply-To is the person who
sent it and the team, the team is copied (a per-environment choice, on by default), and it is
signed with the sender's name, phone and address; certdesk's own emails (the scan, the command
line) are signed "certdesk, for <company>" with the team addresses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from certificates import services
from certificates.models import Environment, Membership, OutboundEmail
from certificates.services import Actor
from certificates.services.reminders import expiry_scan
from certificates.services.revocations import revocation_request
from tests.emails.conftest import TAM, TEAM
from tests.support.factories import CertificateFactory
from tests.support.reminders import DAY, NOW, make_certificate
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


def _send(actor: Actor, environment: Environment, delivered: Callable[..., Any]) -> OutboundEmail:
    request = services.request_create(
        actor=Actor.cli(), environment=environment, purpose="mtls", subject=ACME
    )
    email: OutboundEmail = delivered(
        services.tam_send, actor=actor, environment=environment, signing_requests=[request]
    )
    email.refresh_from_db()
    return email


def test_a_csr_email_answers_to_its_sender_and_the_team_and_copies_the_team(
    production: Environment, alice: User, delivered: Callable[..., Any]
) -> None:
    """Stored on the outbox row and set on the message the worker sends: Reply-To Alice then
    the team, Cc the team, To the TAM only; signed with her name, phone and address."""
    email = _send(Actor.cli(alice), production, delivered)

    assert email.to == [TAM]
    assert email.cc == TEAM
    assert email.reply_to == ["alice@acme.example", *TEAM]
    (message,) = mail.outbox
    assert message.to == [TAM]
    assert message.cc == TEAM
    assert message.reply_to == ["alice@acme.example", *TEAM]
    headers = message.message()
    assert headers["Reply-To"] == "alice@acme.example, pki-team@acme.example, ops@acme.example"
    assert headers["Cc"] == "pki-team@acme.example, ops@acme.example"
    assert set(message.recipients()) == {TAM, *TEAM}
    body = str(message.body)
    assert body.endswith(
        "Thank you,\nAlice Martin, Acme SAS\nPhone: +33 1 23 45 67 89\nEmail: alice@acme.example\n"
    )
    assert "sent by certdesk" not in body
    assert isinstance(message, EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    assert "Alice Martin, Acme SAS<br>Phone: +33 1 23 45 67 89<br>Email: alice@acme.example" in html


def test_a_person_without_a_name_or_phone_signs_with_the_user_name(
    production: Environment, delivered: Callable[..., Any]
) -> None:
    """No first or last name: the user name; no phone on the profile: no phone line."""
    bob = User.objects.create_user("bob", "bob@acme.example")
    Membership.objects.create(user=bob, environment=production, role="requester")
    email = _send(Actor.cli(bob), production, delivered)
    assert email.body_text.endswith("Thank you,\nbob, Acme SAS\nEmail: bob@acme.example\n")
    assert "Phone" not in email.body_text


def test_copying_the_team_can_be_turned_off_and_answers_still_reach_it(
    production: Environment, alice: User, delivered: Callable[..., Any]
) -> None:
    """Off for the environment: no Cc header; Reply-To keeps the team."""
    production.copy_team_on_tam_emails = False
    production.save()
    email = _send(Actor.cli(alice), production, delivered)
    assert email.cc == []
    assert email.reply_to == ["alice@acme.example", *TEAM]
    (message,) = mail.outbox
    assert "Cc" not in message.message()
    assert message.recipients() == [TAM]


def test_an_address_already_in_to_is_not_copied_again_and_each_address_once(
    production: Environment, alice: User, delivered: Callable[..., Any]
) -> None:
    """A team list that repeats the TAM or Alice (any case): each address once, none in Cc
    that is already in To."""
    production.team_emails = ["TAM@treezor.example", "ALICE@acme.example", "ops@acme.example"]
    production.save()
    email = _send(Actor.cli(alice), production, delivered)
    assert email.cc == ["ALICE@acme.example", "ops@acme.example"]
    assert email.reply_to == ["alice@acme.example", "TAM@treezor.example", "ops@acme.example"]


def test_the_command_line_without_a_user_signs_as_certdesk_with_the_team(
    production: Environment, delivered: Callable[..., Any]
) -> None:
    """No person: nobody's address first, the team answers; the signature names the team."""
    email = _send(Actor.cli(), production, delivered)
    assert email.reply_to == TEAM
    assert email.body_text.endswith(
        "Thank you,\ncertdesk, for Acme SAS\nTeam: pki-team@acme.example, ops@acme.example\n"
    )


def test_nobody_to_answer_leaves_reply_to_out(
    production: Environment, delivered: Callable[..., Any]
) -> None:
    """No team address and no person: no Reply-To or Cc header at all (answers go to From)."""
    production.team_emails = []
    production.save()
    email = _send(Actor.cli(), production, delivered)
    assert (email.cc, email.reply_to) == ([], [])
    message = mail.outbox[0].message()
    assert "Reply-To" not in message
    assert "Cc" not in message
    assert email.body_text.endswith("Thank you,\ncertdesk, for Acme SAS\n")


def test_a_revocation_request_is_signed_by_the_custodian_and_answers_to_them(
    production: Environment, alice: User, delivered: Callable[..., Any]
) -> None:
    certificate = CertificateFactory.create(signing_request__environment=production)
    delivered(
        revocation_request,
        actor=Actor.cli(alice),
        certificate=certificate,
        reason="superseded",
    )
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.TAM_REVOCATION)
    assert (email.cc, email.reply_to) == (TEAM, ["alice@acme.example", *TEAM])
    assert "Alice Martin, Acme SAS\nPhone: +33 1 23 45 67 89" in email.body_text
    assert email.certificate_id == certificate.pk
    assert mail.outbox[0].reply_to == ["alice@acme.example", *TEAM]


def test_the_scans_renewal_email_answers_to_the_team_and_signs_as_certdesk(
    production: Environment, delivered: Callable[..., Any]
) -> None:
    """The expiry scan is nobody: Reply-To and Cc are the team, the signature is certdesk's
    for the company, with the team addresses; the row names the certificate it renews."""
    with time_machine.travel(NOW, tick=False):
        certificate = make_certificate(production, not_after=timezone.now() + 20 * DAY)
        production.prepare_renewals = False
        production.save()
        delivered(expiry_scan)
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.TAM_RENEWAL)
    assert email.to == [TAM]
    assert (email.cc, email.reply_to) == (TEAM, TEAM)
    assert email.certificate_id == certificate.pk
    assert email.body_text.endswith(
        "Thank you,\ncertdesk, for Acme SAS\nTeam: pki-team@acme.example, ops@acme.example\n"
    )
    sent = next(m for m in mail.outbox if m.to == [TAM])
    assert sent.cc == TEAM
    assert sent.reply_to == TEAM
    # The owners' reminder names the certificate too (the outbox links it).
    reminder = OutboundEmail.objects.get(kind=OutboundEmail.Kind.REMINDER)
    assert reminder.certificate_id == certificate.pk
