"""A compromise report tells the environment's custodians and team addresses at once (issue 16):
through the outbox, kind ``compromise_notice``: what happened, who reported it, what certdesk
did (the TAM emailed, or not), what to do next with links to this site; never the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from certificates.models import AuditEvent, Certificate, Environment, Membership, OutboundEmail
from certificates.services import Actor
from certificates.services.revocations import revocation_report_compromise, revocation_request
from tests.emails.conftest import TAM, TEAM
from tests.support.factories import CertificateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(production: Environment) -> Certificate:
    return CertificateFactory.create(
        signing_request__environment=production, signing_request__common_name="api.acme.com"
    )


@pytest.fixture
def people(production: Environment, alice: User) -> None:
    """Alice (custodian) and: a second custodian, a requester, a viewer, an inactive custodian,
    a custodian without an address, and a custodian of Sandbox only."""
    for name, role, active, email, environment_slug in [
        ("carl", "custodian", True, "carl@acme.example", "production"),
        ("rita", "requester", True, "rita@acme.example", "production"),
        ("vic", "viewer", True, "vic@acme.example", "production"),
        ("ines", "custodian", False, "ines@acme.example", "production"),
        ("noah", "custodian", True, "", "production"),
        ("sam", "custodian", True, "sam@acme.example", "sandbox"),
    ]:
        user = User.objects.create_user(name, email, is_active=active)
        Membership.objects.create(
            user=user, environment=Environment.objects.get(slug=environment_slug), role=role
        )


def _report(certificate: Certificate, actor: Actor, delivered: Callable[..., Any]) -> None:
    delivered(
        revocation_report_compromise,
        actor=actor,
        certificate=certificate,
        suspected_since=timezone.localdate(),
        note="The laptop holding it was stolen.",
    )


def test_the_custodians_and_the_team_are_told_at_once(
    certificate: Certificate,
    alice: User,
    people: None,
    delivered: Callable[..., Any],
    rsa_key_pem: str,
) -> None:
    _report(certificate, Actor.cli(alice), delivered)

    notice = OutboundEmail.objects.get(kind=OutboundEmail.Kind.COMPROMISE_NOTICE)
    assert notice.to == ["alice@acme.example", "carl@acme.example", *TEAM]
    assert notice.certificate_id == certificate.pk
    assert notice.subject == (
        f"Key compromise reported: Treezor Production mTLS certificate {certificate.serial} "
        "(api.acme.com)"
    )
    text = notice.body_text
    assert "Alice Martin (alice@acme.example) reported on" in text
    assert f"Serial:              {certificate.serial}" in text
    assert "Their note: The laptop holding it was stolen." in text
    assert f"Emailed Treezor's Technical Account Manager ({TAM}) to revoke" in text
    site = "https://certdesk.acme.example"
    assert f"{site}/requests/new/?environment=production&purpose=mtls&renews={certificate.pk}" in (
        text
    )
    assert f"{site}/certificates/{certificate.pk}/" in text
    assert f'href="{site}/certificates/{certificate.pk}/"' in notice.body_html
    for part in (notice.body_text, notice.body_html, notice.subject):
        assert "PRIVATE KEY" not in part
    (sent,) = [m for m in mail.outbox if m.to == notice.to]
    assert sent.subject == notice.subject
    # The TAM's email went out too, and the audit event names the notice.
    assert any(m.to == [TAM] for m in mail.outbox)
    event = AuditEvent.objects.get(action="key.compromised")
    assert event.details["notice"] == notice.pk
    assert event.details["notice_to"] == notice.to


def test_without_a_tam_address_the_notice_says_treezor_was_not_told(
    production: Environment, certificate: Certificate, alice: User, delivered: Callable[..., Any]
) -> None:
    production.tam_emails = []
    production.save()
    _report(certificate, Actor.cli(), delivered)
    notice = OutboundEmail.objects.get()
    assert notice.kind == OutboundEmail.Kind.COMPROMISE_NOTICE
    assert "Could NOT email Treezor: Production has no TAM address" in notice.body_text
    assert "The server operator (command line) reported on" in notice.body_text


def test_nobody_to_tell_sends_no_notice(
    production: Environment, certificate: Certificate, delivered: Callable[..., Any]
) -> None:
    """No custodian with an address, no team address: only the TAM's email."""
    production.team_emails = []
    production.save()
    _report(certificate, Actor.cli(), delivered)
    assert list(OutboundEmail.objects.values_list("kind", flat=True)) == [
        OutboundEmail.Kind.TAM_REVOCATION
    ]
    assert AuditEvent.objects.get(action="key.compromised").details["notice"] is None


def test_a_revocation_no_longer_needed_tells_nobody_else(
    certificate: Certificate, alice: User, delivered: Callable[..., Any]
) -> None:
    delivered(
        revocation_request,
        actor=Actor.cli(alice),
        certificate=certificate,
        reason="other",
        note="Retired.",
    )
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.COMPROMISE_NOTICE).exists()
