"""A domain error a view lets through is a clear page, never a 500; refusals carry every field."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates import services
from certificates.models import AuditEvent, Environment, Key
from certificates.services import Actor
from certificates.services.errors import ServiceError
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


def test_a_key_that_cannot_be_decrypted_is_a_clear_page_not_a_500(
    client: Client, make_member: Callable[..., User], sandbox: Environment
) -> None:
    """A stored key whose encrypted blob no longer decrypts: the custodian gets a page saying
    so and whom to ask (409), no key bytes, no 500, and no download is recorded."""
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    blob = bytearray(request.key.encrypted_private_key or b"")
    blob[-1] ^= 0xFF  # the authentication tag no longer matches
    Key.objects.filter(pk=request.key.pk).update(encrypted_private_key=bytes(blob))
    custodian = make_member("custodian", sandbox)
    custodian.set_password("custodian password 1")
    custodian.save()
    client.raise_request_exception = False
    client.post("/login/", {"login": custodian.username, "password": "custodian password 1"})

    response = client.post(f"/requests/{request.pk}/key/", {"format": "pem"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "could not decrypt the stored private key" in page
    assert "PRIVATE KEY-----" not in page
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_a_service_error_carries_every_field_problem_at_once() -> None:
    """Several field problems travel together; the message names them all, the first field leads."""
    error = ServiceError.of({"name": "Name is required.", "slug": "Slug is taken."})
    assert error.errors == {"name": "Name is required.", "slug": "Slug is taken."}
    assert error.field == "name"
    assert str(error) == "Name is required. Slug is taken."
    single = ServiceError("Too long.", field="reason")
    assert single.errors == {"reason": "Too long."}
    assert ServiceError("Not now.").errors == {}
