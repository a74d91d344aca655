"""The dashboard: environments by purposes, each cell's state and its next action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certificates import services
from certificates.models import Environment
from certificates.selectors import DashboardCell
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


def cells(response: Any) -> dict[tuple[str, str], DashboardCell]:
    rows = response.context["rows"]
    return {(row.environment.slug, cell.purpose): cell for row in rows for cell in row.cells}


def test_members_see_only_their_environments(
    member_client: Callable[..., Client], sandbox: Environment
) -> None:
    """A Sandbox member's dashboard has the Sandbox row only."""
    response = member_client("viewer", sandbox).get("/")
    assert [row.environment.slug for row in response.context["rows"]] == ["sandbox"]


def test_a_user_without_membership_is_told_to_ask_for_a_role(client: Client) -> None:
    """No environment: the page says whom to ask."""
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("nobody"))
    assert "Ask a certdesk administrator" in client.get("/").content.decode()


def test_cells_follow_a_request_from_empty_to_sent_to_certificate(
    member_client: Callable[..., Client], sandbox: Environment, issue: Callable[..., bytes]
) -> None:
    """Empty says what to do; then CSR ready — not sent; then sent by hand on a day; then days
    left."""
    client = member_client("requester", sandbox)
    cell = cells(client.get("/"))[("sandbox", "mtls")]
    assert (cell.action_label, cell.certificate) == ("Request a certificate", None)
    assert "environment=sandbox&purpose=mtls" in cell.action_url
    assert "Start by making a key and CSR" in client.get("/").content.decode()

    request = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    page = client.get("/")
    assert "CSR ready — not sent" in page.content.decode()
    assert cells(page)[("sandbox", "mtls")].action_label == "Send to the TAM"

    now = datetime.now(UTC)
    with time_machine.travel(now - timedelta(days=3), tick=False):
        request.status, request.sent_at = "sent", now - timedelta(days=3)
        request.save()
    page = client.get("/")
    # No email recorded: sent by hand, told by its day, no hour (issue 16).
    assert f"Sent by hand on {(now - timedelta(days=3)):%Y-%m-%d}" in page.content.decode()
    assert cells(page)[("sandbox", "mtls")].action_label == "Upload the certificate"
    assert (
        cells(page)[("sandbox", "mtls")].action_url == f"/certificates/upload/?request={request.pk}"
    )

    # The clock stands still on a whole second (X.509 times have no fraction): exactly 100 days.
    with time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False):
        services.certificate_upload(actor=CLI, data=issue(request, days=100))
        cell = cells(client.get("/"))[("sandbox", "mtls")]
    assert (cell.status, cell.urgency, cell.action_label) == ("valid", "ok", "View")
    assert cell.days_left == 100
    with time_machine.travel(now + timedelta(days=80), tick=False):
        client = member_client("requester", sandbox)  # the old session has expired by then
        cell = cells(client.get("/"))[("sandbox", "mtls")]
        assert (cell.status, cell.urgency, cell.action_label) == ("renewal due", "warn", "Renew")
        assert cell.certificate is not None
        assert f"renews={cell.certificate.pk}" in cell.action_url


def test_signature_column_says_when_it_is_not_needed(
    member_client: Callable[..., Client], sandbox: Environment
) -> None:
    """Without the PCI DSS set required, the signature cell says it is only for PCI DSS."""
    page = member_client("viewer", sandbox).get("/").content.decode()
    assert "Only needed for PCI DSS services." in page


def test_the_dashboard_query_count_does_not_grow_with_certificates(
    admin_client: Client, sandbox: Environment, production: Environment, issue: Callable[..., bytes]
) -> None:
    """One certificate or several per cell: the same number of queries."""

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get("/").status_code == 200
        return len(queries)

    for environment in (sandbox, production):
        request = services.request_create(
            actor=CLI, environment=environment, purpose="mtls", subject=ACME
        )
        services.certificate_upload(actor=CLI, data=issue(request))
    count()  # a session's first request records it for the Profile's session list
    few = count()
    for environment in (sandbox, production):
        for purpose in ("mtls", "signature", "signature"):
            request = services.request_create(
                actor=CLI, environment=environment, purpose=purpose, subject=ACME
            )
            services.certificate_upload(actor=CLI, data=issue(request), replace=True)
    assert count() == few
