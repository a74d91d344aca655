"""Migration 0006: rows written under the old, date-derived lifecycle keep their meaning when
supersession becomes a recorded fact."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("certificates", "0005_audit_hash_chain")]
AFTER = [("certificates", "0006_recorded_lifecycle")]
NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def test_the_certificate_that_was_not_superseded_is_the_one_in_service() -> None:
    """Per (environment, purpose): the valid, unrevoked certificate that expires last goes in
    service (what the old rule showed as not superseded); the others are recorded as replaced,
    each by the next one uploaded; a pair with no valid certificate keeps its last upload in
    service; a cancelled request gets a cancellation date."""
    old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
    environment_model = old_apps.get_model("certificates", "Environment")
    key_model = old_apps.get_model("certificates", "Key")
    request_model = old_apps.get_model("certificates", "SigningRequest")
    certificate_model = old_apps.get_model("certificates", "Certificate")
    revocation_model = old_apps.get_model("certificates", "Revocation")
    production = environment_model.objects.create(name="Old Production", slug="old-production")
    sandbox = environment_model.objects.create(name="Old Sandbox", slug="old-sandbox")

    def certificate(environment: object, not_after: datetime, status: str = "fulfilled") -> int:
        key = key_model.objects.create(fingerprint=secrets.token_hex(32), source="imported")
        request = request_model.objects.create(
            environment=environment,
            purpose="mtls",
            key=key,
            country="FR",
            state="Brittany",
            locality="Rennes",
            organization="Acme",
            common_name="acme.com",
            email="it@acme.com",
            csr_pem="x",
            status=status,
        )
        return int(
            certificate_model.objects.create(
                signing_request=request,
                pem="x",
                serial=secrets.token_hex(4),
                subject="CN=acme.com",
                issuer="CN=CA",
                not_before=NOW - 300 * DAY,
                not_after=not_after,
                fingerprint=secrets.token_hex(32),
            ).pk
        )

    # Uploaded in this order: the longest-lived valid one is not the last uploaded.
    long_lived = certificate(production, NOW + 300 * DAY)
    shorter = certificate(production, NOW + 100 * DAY)
    revoked = certificate(production, NOW + 400 * DAY)
    revocation_model.objects.create(certificate_id=revoked, reason="key_compromise")
    expired_first = certificate(sandbox, NOW - 20 * DAY)
    expired_last = certificate(sandbox, NOW - 10 * DAY)
    key = key_model.objects.create(fingerprint=secrets.token_hex(32), source="imported")
    cancelled = request_model.objects.create(
        environment=sandbox,
        purpose="signature",
        key=key,
        country="FR",
        state="B",
        locality="R",
        organization="A",
        common_name="acme.com",
        email="it@acme.com",
        csr_pem="x",
        status="cancelled",
    ).pk

    new_apps = migrate(AFTER).loader.project_state(AFTER).apps
    certificate_model = new_apps.get_model("certificates", "Certificate")
    rows = {c.pk: c for c in certificate_model.objects.all()}
    assert rows[long_lived].superseded_at is None
    assert rows[long_lived].replaces_id == revoked
    assert rows[shorter].replaces_id is None
    assert rows[revoked].replaces_id == shorter
    assert all(rows[pk].superseded_at is not None for pk in (shorter, revoked))
    assert rows[expired_last].superseded_at is None
    assert rows[expired_first].superseded_at is not None
    assert rows[expired_last].replaces_id == expired_first
    assert {(rows[pk].environment_id, rows[pk].purpose) for pk in (long_lived, expired_last)} == {
        (production.pk, "mtls"),
        (sandbox.pk, "mtls"),
    }
    request_model = new_apps.get_model("certificates", "SigningRequest")
    assert request_model.objects.get(pk=cancelled).cancelled_at is not None
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
