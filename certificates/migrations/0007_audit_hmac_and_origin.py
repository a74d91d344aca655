"""The audit chain under a key: each link an HMAC under CERTDESK_AUDIT_KEY, covering where an
action came from (origin, operating-system user) and no longer the actor's foreign key.

Existing events get an origin only where their label tells it ("cli": the server operator on
the command line; "system", "expiry scan": the worker); others stay blank (not recorded then).

The existing chain is checked under the old scheme first, then rehashed in id order under the
key. Rehashing would launder earlier tampering, so when there were events, one more event,
``audit.rehashed``, records how many were rehashed and where the old chain was broken (an empty
list: it was whole). Going back rehashes under the old scheme.
"""

import sys

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone

from certificates import auditchain, keyfiles

KNOWN_ORIGINS = {"cli": "cli", "system": "system", "expiry scan": "system"}


def rehash_under_the_key(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    event_model = apps.get_model("certificates", "AuditEvent")
    key = keyfiles.audit_key()
    old_breaks: list[int] = []
    expected_old = auditchain.GENESIS_HASH
    previous = auditchain.GENESIS_HASH
    count = 0
    for event in event_model.objects.order_by("id").iterator(chunk_size=2000):
        if event.previous_hash != expected_old or (
            auditchain.legacy_sha256_hash_of(event) != event.hash
        ):
            old_breaks.append(event.pk)
        expected_old = event.hash
        event.origin = KNOWN_ORIGINS.get(event.actor_label, "")
        event.previous_hash = previous
        event.hash = auditchain.hash_of(event, key=key)
        # A plain UPDATE: the historical model has none of the append-only guards.
        event_model.objects.filter(pk=event.pk).update(
            origin=event.origin, previous_hash=event.previous_hash, hash=event.hash
        )
        previous = event.hash
        count += 1
    if not count:
        return
    marker = event_model(
        actor_label="system",
        origin="system",
        action="audit.rehashed",
        created_at=timezone.now(),
        details={"events": count, "sha256_chain_broken_at": old_breaks[:1000]},
        previous_hash=previous,
    )
    marker.hash = auditchain.hash_of(marker, key=key)
    marker.save(force_insert=True)
    if old_breaks:
        sys.stderr.write(
            f"\n  certdesk: the audit log was already broken before this upgrade, at event(s) "
            f"#{', #'.join(str(pk) for pk in old_breaks[:20])}; the event 'audit.rehashed' "
            "records it.\n"
        )


def rehash_as_before(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    event_model = apps.get_model("certificates", "AuditEvent")
    previous = auditchain.GENESIS_HASH
    for event in event_model.objects.order_by("id").iterator(chunk_size=2000):
        event.previous_hash = previous
        event.hash = auditchain.legacy_sha256_hash_of(event)
        event_model.objects.filter(pk=event.pk).update(
            previous_hash=event.previous_hash, hash=event.hash
        )
        previous = event.hash


class Migration(migrations.Migration):
    dependencies = [("certificates", "0006_recorded_lifecycle")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="origin",
            field=models.CharField(
                blank=True,
                choices=[
                    ("browser", "Browser"),
                    ("cli", "Command line"),
                    ("system", "System (worker, scheduler)"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="os_user",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AlterField(
            model_name="outboundemail",
            name="kind",
            field=models.CharField(
                choices=[
                    ("tam_csr", "CSRs to the TAM"),
                    ("tam_renewal", "Renewal request to the TAM"),
                    ("tam_revocation", "Revocation request to the TAM"),
                    ("reminder", "Reminder to the owners"),
                    ("audit_checkpoint", "Audit log checkpoint to the administrators"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(rehash_under_the_key, rehash_as_before),
    ]
