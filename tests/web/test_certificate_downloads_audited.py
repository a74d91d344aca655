"""The browser's certificate downloads are recorded as the command line's export is."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from certificates import services
from certificates.models import AuditEvent, Environment
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


def test_downloading_a_certificate_or_its_chain_is_recorded_with_who_took_it(
    member_client: Callable[..., Client], sandbox: Environment, issue: Callable[..., bytes]
) -> None:
    """A viewer downloads the certificate and the full chain: each is a certificate.exported
    event naming them, the file and the serial, as ``export_certificate`` records."""
    request = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    certificate = services.certificate_upload(actor=CLI, data=issue(request, days=200)).certificate
    client = member_client("viewer", sandbox)

    pem = client.get(f"/certificates/{certificate.pk}/pem/")
    chain = client.get(f"/certificates/{certificate.pk}/chain/")

    assert pem.status_code == chain.status_code == 200
    assert pem.content == certificate.pem.encode("ascii")
    assert chain.content.startswith(certificate.pem.rstrip().encode("ascii"))
    events = list(AuditEvent.objects.filter(action="certificate.exported").order_by("pk"))
    assert [event.details["files"] for event in events] == [
        [pem["Content-Disposition"].split('"')[1]],
        [chain["Content-Disposition"].split('"')[1]],
    ]
    assert {event.actor_id for event in events} == {pem.wsgi_request.user.pk}
    assert all(event.details["serial"] == certificate.serial for event in events)
