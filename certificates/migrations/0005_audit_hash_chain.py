"""Tamper-evident audit log: chain the events recorded so far, in id order."""

import django.utils.timezone
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from certificates import auditchain


def chain_existing(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    event_model = apps.get_model("certificates", "AuditEvent")
    previous = auditchain.GENESIS_HASH
    for event in event_model.objects.order_by("id").iterator(chunk_size=2000):
        event.previous_hash = previous
        event.hash = auditchain.legacy_sha256_hash_of(event)
        # A plain UPDATE: the historical model has none of the append-only guards.
        event_model.objects.filter(pk=event.pk).update(
            previous_hash=event.previous_hash, hash=event.hash
        )
        previous = event.hash


class Migration(migrations.Migration):
    dependencies = [("certificates", "0004_reminders_and_calendar")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
    ]
