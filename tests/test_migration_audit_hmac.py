"""Migration 0007: the existing audit chain is rehashed under CERTDESK_AUDIT_KEY, and what the
old chain looked like (whole, or broken where) stays on record."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from certificates import auditchain
from certificates.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("certificates", "0006_recorded_lifecycle")]
AFTER = [("certificates", "0007_audit_hmac_and_origin")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _old_chain(labels: list[str]) -> list[int]:
    """Events recorded before 0007, chained with the old SHA-256 scheme; their ids."""
    old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
    event_model = old_apps.get_model("certificates", "AuditEvent")
    previous = auditchain.GENESIS_HASH
    ids = []
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n, label in enumerate(labels):
        event = event_model(
            actor_label=label,
            action="key.exported",
            created_at=start + timedelta(minutes=n),
            details={"n": n},
            previous_hash=previous,
        )
        event.hash = auditchain.legacy_sha256_hash_of(event)
        event.save()
        previous = event.hash
        ids.append(event.pk)
    return ids


def _finish() -> None:
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_an_intact_old_chain_is_rehashed_and_verifies() -> None:
    """After the migration the log verifies under the key; the origin is filled in where the
    label tells it; one more event records that the old chain was whole."""
    ids = _old_chain(["cli", "alice", "expiry scan"])
    migrate(AFTER)
    _finish()
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "4 events verified" in out.getvalue()
    origins = list(AuditEvent.objects.filter(pk__in=ids).order_by("id").values_list("origin"))
    assert origins == [("cli",), ("",), ("system",)]
    marker = AuditEvent.objects.get(action="audit.rehashed")
    assert marker.details == {"events": 3, "sha256_chain_broken_at": []}


def test_an_old_chain_already_broken_is_recorded_not_laundered() -> None:
    """An event altered before the upgrade would verify after a blind rehash: the migration
    records where the old chain was broken, in an event the key now protects."""
    ids = _old_chain(["alice", "bob", "carol"])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE certificates_auditevent SET actor_label = 'mallory' WHERE id = %s", [ids[1]]
        )
    migrate(AFTER)
    _finish()
    marker = AuditEvent.objects.get(action="audit.rehashed")
    assert marker.details == {"events": 3, "sha256_chain_broken_at": [ids[1]]}
