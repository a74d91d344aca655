"""The outbox keeps a random Message-ID per email (unique across a restore that rewinds ids), who
asked for it (told when it finally fails), and the sending form's one-time token."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

import certificates.models


def give_message_ids(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    email_model = apps.get_model("certificates", "OutboundEmail")
    for pk in email_model.objects.filter(message_id__isnull=True).values_list("pk", flat=True):
        email_model.objects.filter(pk=pk).update(message_id=certificates.models.new_message_id())


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0007_audit_hmac_and_origin"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="submission_token",
            field=models.UUIDField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.RunPython(give_message_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outboundemail",
            name="message_id",
            field=models.CharField(
                default=certificates.models.new_message_id, max_length=255, unique=True
            ),
        ),
    ]
