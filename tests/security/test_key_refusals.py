"""A refused private-key download (403 or 404 at a key URL) is audited as key.export_refused
with who asked, from where, which URL and which object (issue 12, point 13)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from certificates import services
from certificates.models import AuditEvent, Environment, Role
from certificates.services.audit import Actor
from tests.support.subjects import ACME

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_pk(sandbox: Environment) -> int:
    signing_request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    return signing_request.pk


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="key.export_refused").order_by("id"))


def test_a_member_without_custody_is_refused_and_audited(
    member_client: Callable[..., Client], sandbox: Environment, request_pk: int
) -> None:
    """A requester asking for a request's key gets 403; the event names the requester, the
    address, the URL name and the request's id."""
    client = member_client(Role.REQUESTER, sandbox)
    response = client.post(f"/requests/{request_pk}/key/", REMOTE_ADDR="198.51.100.23")
    assert response.status_code == 403
    [event] = refusals()
    assert event.actor_label.startswith("requester-sandbox")
    assert event.ip == "198.51.100.23"
    assert event.details == {
        "url_name": "request_key",
        "pk": request_pk,
        "status": 403,
        "method": "POST",
    }


def test_a_probe_for_other_environments_and_missing_keys_is_audited(
    member_client: Callable[..., Client],
    production: Environment,
    request_pk: int,
) -> None:
    """A production custodian asking for a sandbox key (404: not theirs to see) and for a
    certificate that does not exist (404) leaves one event for each."""
    client = member_client(Role.CUSTODIAN, production)
    assert client.post(f"/requests/{request_pk}/key/").status_code == 404
    assert client.post("/certificates/999999/key/").status_code == 404
    assert [(event.details["url_name"], event.details["pk"]) for event in refusals()] == [
        ("request_key", request_pk),
        ("certificate_key", 999999),
    ]


def test_other_refusals_are_not_key_refusals(
    member_client: Callable[..., Client], sandbox: Environment, request_pk: int
) -> None:
    """A 404 on another page (a request's CSR) is not recorded as a key refusal."""
    client = member_client(Role.VIEWER, sandbox)
    assert client.get("/requests/999999/csr/").status_code == 404
    assert refusals() == []
