"""The timeline on the request and certificate pages (issue 11, point 8), in the browser's HTML."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from certificates import services
from certificates.models import Certificate, Environment, Key, SigningRequest
from certificates.services import Actor, audit_record
from certificates.services.keys import key_destroy
from certificates.services.revocations import (
    revocation_confirm,
    revocation_report_compromise,
)
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)


def at(day: int) -> time_machine.travel:
    return time_machine.travel(START + timedelta(days=day), tick=False)


@pytest.fixture
def journey(
    sandbox: Environment,
    make_member: Callable[[str, Environment], User],
    issue: Callable[..., bytes],
) -> tuple[SigningRequest, Certificate]:
    """A Sandbox request sent, installed, its key reported compromised, revoked, key destroyed."""
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save(update_fields=["tam_emails"])
    carol = make_member("custodian", sandbox)
    carol.username = "carol"
    carol.save(update_fields=["username"])
    as_carol = Actor(user=carol)
    with at(0):
        request = services.request_create(
            actor=as_carol, environment=sandbox, purpose="mtls", subject=ACME
        )
    with at(1):
        services.tam_send(actor=as_carol, environment=sandbox, signing_requests=[request])
    with at(3):
        certificate = services.certificate_upload(actor=as_carol, data=issue(request)).certificate
    with at(40):
        revocation = revocation_report_compromise(
            actor=as_carol, certificate=certificate, suspected_since=date(2030, 4, 10)
        )
    with at(42):
        revocation_confirm(actor=as_carol, revocation=revocation, confirmed_on=date(2030, 4, 13))
        key_destroy(actor=as_carol, key=Key.objects.get(pk=request.key_id))
    return request, certificate


def timeline_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="timeline-heading">Timeline</h2>' in page
    return html.unescape(page[page.index('id="timeline-heading"') :])


def test_a_viewer_reads_the_request_timeline_in_order_with_links(
    journey: tuple[SigningRequest, Certificate],
    sandbox: Environment,
    member_client: Callable[..., Client],
) -> None:
    """A Sandbox viewer sees on the request page who did what and when, oldest first, and each
    certificate event links to that certificate."""
    request, certificate = journey
    page = timeline_of(
        member_client("viewer", sandbox), reverse("request_detail", args=[request.pk])
    )
    expected = [
        "2030-03-02 09:00",
        "Request created: certdesk generated its key",
        "carol",
        "Sent to the TAM by email through certdesk (to tam@treezor.example)",
        f"Certificate #{certificate.pk} received and installed",
        f"Revocation of certificate #{certificate.pk} requested (key compromise)",
        f"Key reported compromised (certificate #{certificate.pk})",
        f"Certificate #{certificate.pk} revoked: Treezor confirmed it on 2030-04-13",
        "Private key destroyed",
    ]
    positions = [page.index(text) for text in expected]
    assert positions == sorted(positions)
    link = f'<a href="{reverse("certificate_detail", args=[certificate.pk])}">'
    assert page.count(link) == 4


def test_the_certificate_page_shows_its_timeline(
    journey: tuple[SigningRequest, Certificate],
    sandbox: Environment,
    member_client: Callable[..., Client],
) -> None:
    """The certificate page shows its installation, revocation and the key's end."""
    _, certificate = journey
    page = timeline_of(
        member_client("viewer", sandbox), reverse("certificate_detail", args=[certificate.pk])
    )
    expected = [
        "Received and installed",
        "Revocation requested (key compromise); the TAM was emailed",
        "Key reported compromised",
        "Revoked: Treezor confirmed it on 2030-04-13",
        "Private key destroyed",
    ]
    positions = [page.index(text) for text in expected]
    assert positions == sorted(positions)


def test_another_environments_viewer_sees_no_timeline(
    journey: tuple[SigningRequest, Certificate],
    production: Environment,
    member_client: Callable[..., Client],
) -> None:
    """A Production viewer gets a 404 for Sandbox's request and certificate, timeline included."""
    request, certificate = journey
    client = member_client("viewer", production)
    for url in (
        reverse("request_detail", args=[request.pk]),
        reverse("certificate_detail", args=[certificate.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Timeline" not in response.content


def test_a_reason_typed_by_a_user_is_shown_as_text(
    sandbox: Environment, member_client: Callable[..., Client]
) -> None:
    """A cancellation reason is free text: the page shows it, escaped, never as markup."""
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    audit_record(
        actor=Actor.cli(),
        action="request.cancelled",
        target=request,
        environment=sandbox,
        details={"reason": "typo in CN <script>alert(1)</script>"},
    )
    response = member_client("viewer", sandbox).get(reverse("request_detail", args=[request.pk]))
    assert b"<script>alert(1)</script>" not in response.content
    assert b"Cancelled: typo in CN &lt;script&gt;alert(1)&lt;/script&gt;" in response.content
