"""One 'may renew' rule: the dashboard and the certificate page agree on a revoked certificate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.test import Client

from certificates import services
from certificates.models import Environment
from certificates.services import Actor
from certificates.services.revocations import revocation_confirm, revocation_request
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


def test_a_revoked_certificate_is_not_offered_renew_on_the_dashboard_or_its_page(
    member_client: Callable[..., Client], sandbox: Environment, issue: Callable[..., bytes]
) -> None:
    """Once Treezor confirmed the revocation, neither the dashboard cell nor the certificate's
    own page offers Renew; the dashboard offers a new request (without ``renews``) instead."""
    request = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    certificate = services.certificate_upload(actor=CLI, data=issue(request, days=200)).certificate
    revocation = revocation_request(actor=CLI, certificate=certificate, reason="superseded")
    revocation_confirm(actor=CLI, revocation=revocation, confirmed_on=datetime.now(UTC).date())
    client = member_client("requester", sandbox)

    rows = client.get("/").context["rows"]
    cell = next(c for row in rows for c in row.cells if c.purpose == "mtls")
    assert cell.status == "revoked"
    assert cell.action_label == "Request a certificate"
    assert "renews=" not in cell.action_url
    page = client.get(f"/certificates/{certificate.pk}/").content.decode()
    assert "Renew (new key)" not in page
