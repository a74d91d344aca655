"""Database constraints say what the code promises, even to a careless caller."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from certificates import services
from certificates.models import CompanyProfile, Environment, Key, SigningRequest
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


def test_sandbox_and_production_exist_from_the_first_migration() -> None:
    """A fresh database has both Treezor environments and the company-profile row."""
    assert list(Environment.objects.values_list("name", "slug")) == [
        ("Sandbox", "sandbox"),
        ("Production", "production"),
    ]
    assert CompanyProfile.objects.get().pk == 1


def test_one_key_one_csr_is_a_database_constraint(sandbox: Environment) -> None:
    """A second key row with the same fingerprint, or a second request for a key, is refused."""
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Key.objects.create(fingerprint=request.key.fingerprint, source=Key.Source.IMPORTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningRequest.objects.create(
            environment=sandbox, purpose="signature", key=request.key, csr_pem="x", status="ready"
        )


def test_a_generated_key_must_have_its_private_half_and_an_imported_one_must_not() -> None:
    """The private-key column matches the key's source, checked by the database."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Key.objects.create(fingerprint="a" * 64, source=Key.Source.GENERATED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Key.objects.create(
            fingerprint="b" * 64, source=Key.Source.IMPORTED, encrypted_private_key=b"x"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Key.objects.create(fingerprint="not hex", source=Key.Source.IMPORTED)


def test_there_is_only_one_company_profile() -> None:
    """A second profile row is refused by a check constraint."""
    with pytest.raises(IntegrityError), transaction.atomic():
        CompanyProfile.objects.create(id=2, company_name="other")


def test_the_admin_never_shows_a_private_key(admin_client: Client, sandbox: Environment) -> None:
    """The key's admin page shows its fingerprint, not the encrypted column nor key text."""
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    page = admin_client.get(f"/admin/certificates/key/{request.key.pk}/change/")
    assert page.status_code == 200
    assert request.key.fingerprint.encode() in page.content
    assert b"encrypted_private_key" not in page.content
    assert b"PRIVATE KEY" not in page.content
