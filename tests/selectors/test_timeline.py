"""request_timeline and certificate_timeline (issue 11, point 8): history from the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from certificates import selectors, services
from certificates.models import Certificate, Environment, Key, SigningRequest
from certificates.selectors import TimelineEntry
from certificates.services import Actor
from certificates.services.keys import key_destroy
from certificates.services.reminders import expiry_scan
from certificates.services.revocations import (
    revocation_confirm,
    revocation_report_compromise,
)
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)
CLI = Actor.cli()


def at(day: int) -> time_machine.travel:
    """The clock ``day`` days after START, frozen."""
    return time_machine.travel(START + timedelta(days=day), tick=False)


def lines(timeline: list[TimelineEntry]) -> list[tuple[str, str, str | None]]:
    return [(entry.who, entry.label, entry.url) for entry in timeline]


def cert_url(certificate: Certificate) -> str:
    return reverse("certificate_detail", args=[certificate.pk])


@pytest.fixture
def sandbox_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save(update_fields=["tam_emails"])
    return sandbox


@pytest.fixture
def alice(make_member: Callable[[str, Environment], User], sandbox_tam: Environment) -> User:
    user = make_member("requester", sandbox_tam)
    user.username, user.email = "alice", "alice@acme.example"
    user.save(update_fields=["username", "email"])
    return user


@pytest.fixture
def bob(make_member: Callable[[str, Environment], User], sandbox_tam: Environment) -> User:
    user = make_member("custodian", sandbox_tam)
    user.username = "bob"
    user.save(update_fields=["username"])
    return user


def journey(
    sandbox_tam: Environment, alice: User, bob: User, issue: Callable[..., bytes]
) -> tuple[SigningRequest, Certificate]:
    """Create, send, install, report the key compromised, Treezor confirms, destroy the key."""
    as_alice, as_bob = Actor(user=alice), Actor(user=bob)
    with at(0):
        request = services.request_create(
            actor=as_alice, environment=sandbox_tam, purpose="mtls", subject=ACME
        )
    with at(1):
        services.tam_send(actor=as_alice, environment=sandbox_tam, signing_requests=[request])
    with at(3):
        certificate = services.certificate_upload(actor=CLI, data=issue(request)).certificate
    with at(40):
        revocation = revocation_report_compromise(
            actor=as_bob, certificate=certificate, suspected_since=date(2030, 4, 10)
        )
    with at(42):
        revocation_confirm(actor=as_bob, revocation=revocation, confirmed_on=date(2030, 4, 13))
        key_destroy(actor=as_bob, key=Key.objects.get(pk=request.key_id))
    return request, certificate


def test_the_request_page_tells_the_whole_journey_oldest_first(
    sandbox_tam: Environment, alice: User, bob: User, issue: Callable[..., bytes]
) -> None:
    """Created, sent (by whom, how), received, revocation requested, compromised, revoked and
    key destroyed: each once, in the order it happened, by whom, with links to the certificate."""
    request, certificate = journey(sandbox_tam, alice, bob, issue)
    n = certificate.pk
    timeline = selectors.request_timeline(request)
    assert lines(timeline) == [
        ("alice", "Request created: certdesk generated its key", None),
        ("alice", "Sent to the TAM by email through certdesk (to tam@treezor.example)", None),
        ("command line", f"Certificate #{n} received and installed", cert_url(certificate)),
        (
            "bob",
            f"Revocation of certificate #{n} requested (key compromise); the TAM was emailed",
            cert_url(certificate),
        ),
        ("bob", f"Key reported compromised (certificate #{n})", cert_url(certificate)),
        (
            "bob",
            f"Certificate #{n} revoked: Treezor confirmed it on 2030-04-13",
            cert_url(certificate),
        ),
        ("bob", "Private key destroyed: certdesk no longer holds it", None),
    ]
    assert [entry.when.date() for entry in timeline] == [
        date(2030, 3, 2),
        date(2030, 3, 3),
        date(2030, 3, 5),
        date(2030, 4, 11),
        date(2030, 4, 11),
        date(2030, 4, 13),
        date(2030, 4, 13),
    ]


def test_the_certificate_page_tells_its_own_story(
    sandbox_tam: Environment, alice: User, bob: User, issue: Callable[..., bytes]
) -> None:
    """The certificate's page says what happened to it and its key, in its own words (no link
    to itself); the request's creation and sending stay on the request page."""
    _, certificate = journey(sandbox_tam, alice, bob, issue)
    assert lines(selectors.certificate_timeline(certificate)) == [
        ("command line", "Received and installed", None),
        ("bob", "Revocation requested (key compromise); the TAM was emailed", None),
        ("bob", "Key reported compromised", None),
        ("bob", "Revoked: Treezor confirmed it on 2030-04-13", None),
        ("bob", "Private key destroyed: certdesk no longer holds it", None),
    ]


def test_a_replacement_is_told_on_both_certificates_and_the_renewal_request(
    sandbox_tam: Environment, alice: User, bob: User, issue: Callable[..., bytes]
) -> None:
    """Renewing: the old certificate shows its renewal request and "Replaced by certificate #M",
    the new one "replacing certificate #N", each linking to the other."""
    as_alice = Actor(user=alice)
    with at(0):
        first = services.request_create(
            actor=as_alice, environment=sandbox_tam, purpose="mtls", subject=ACME
        )
        old = services.certificate_upload(actor=as_alice, data=issue(first)).certificate
    with at(10):
        renewal = services.request_create(
            actor=as_alice, environment=sandbox_tam, purpose="mtls", subject=ACME, renews=old
        )
        services.request_mark_sent(
            actor=as_alice, signing_request=renewal, sent_on=date(2030, 3, 12)
        )
    with at(12):
        new = services.certificate_upload(
            actor=as_alice, data=issue(renewal), replace=True
        ).certificate

    assert lines(selectors.certificate_timeline(old)) == [
        ("alice", "Received and installed", None),
        (
            "alice",
            f"Renewal request #{renewal.pk} created",
            reverse("request_detail", args=[renewal.pk]),
        ),
        ("alice", f"Replaced by certificate #{new.pk}", cert_url(new)),
    ]
    assert lines(selectors.certificate_timeline(new)) == [
        ("alice", f"Received and installed, replacing certificate #{old.pk}", cert_url(old)),
    ]
    assert lines(selectors.request_timeline(renewal)) == [
        (
            "alice",
            f"Request created to renew certificate #{old.pk}: certdesk generated its key",
            cert_url(old),
        ),
        ("alice", "Marked as sent to the TAM by hand, sent on 2030-03-12", None),
        (
            "alice",
            f"Certificate #{new.pk} received and installed, replacing certificate #{old.pk}",
            cert_url(new),
        ),
    ]
    # The first request's page says its certificate was replaced.
    assert lines(selectors.request_timeline(first))[-1] == (
        "alice",
        f"Certificate #{old.pk} replaced by certificate #{new.pk}",
        cert_url(new),
    )


def test_reminders_and_the_tam_renewal_email_appear_on_the_certificate(
    sandbox_tam: Environment, alice: User, issue: Callable[..., bytes]
) -> None:
    """A month ahead the expiry scan's TAM renewal email and the owners' reminder show on the
    certificate's page, by the expiry scan, with their thresholds."""
    with at(0):
        request = services.request_create(
            actor=Actor(user=alice), environment=sandbox_tam, purpose="mtls", subject=ACME
        )
        certificate = services.certificate_upload(
            actor=CLI, data=issue(request, days=60)
        ).certificate
    with at(31):
        expiry_scan()
    entries = lines(selectors.certificate_timeline(certificate))
    assert ("expiry scan", "Renewal email to the TAM queued, 30 days before expiry", None) in (
        entries
    )
    assert ("expiry scan", "Reminder to the owners queued: 30 days left", None) in entries
    # Reminders are about the certificate: the request page does not repeat them.
    assert not [
        entry for entry in selectors.request_timeline(request) if entry.action == "reminder.queued"
    ]


def test_each_timeline_is_one_query_however_long_the_history(
    sandbox_tam: Environment,
    alice: User,
    bob: User,
    issue: Callable[..., bytes],
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    """Both selectors read the audit log in one query, not one per event or certificate."""
    request, certificate = journey(sandbox_tam, alice, bob, issue)
    request = SigningRequest.objects.get(pk=request.pk)
    certificate = Certificate.objects.get(pk=certificate.pk)
    with django_assert_num_queries(1):
        assert len(selectors.request_timeline(request)) == 7
    with django_assert_num_queries(1):
        assert len(selectors.certificate_timeline(certificate)) == 5


def test_a_new_request_shows_only_its_own_events(
    sandbox_tam: Environment, alice: User, bob: User, issue: Callable[..., bytes]
) -> None:
    """Another request's history, in the same environment, never leaks into this one's."""
    journey(sandbox_tam, alice, bob, issue)
    with at(50):
        fresh = services.request_create(
            actor=Actor(user=alice), environment=sandbox_tam, purpose="signature", subject=ACME
        )
    assert lines(selectors.request_timeline(fresh)) == [
        ("alice", "Request created: certdesk generated its key", None)
    ]
