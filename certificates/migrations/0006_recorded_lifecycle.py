"""Lifecycle as recorded facts: which certificate is in service, which replaced which; requests
that can be withdrawn; renewals prepared by the scan.

Existing rows keep the meaning they had. Until now "superseded" was derived from dates: a
certificate was superseded while another certificate of its (environment, purpose), valid and
not being revoked, expired later. So, per pair, the certificate in service becomes the one that
was not superseded then: the valid, unrevoked one that expires last; when none is valid, the one
uploaded last. The others are recorded as replaced, in upload order, each by the next one, the
certificate in service last.
"""

from datetime import UTC, datetime
from itertools import pairwise

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def record_supersession(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    certificate_model = apps.get_model("certificates", "Certificate")
    revocation_model = apps.get_model("certificates", "Revocation")
    now = datetime.now(tz=UTC)
    revoked = set(revocation_model.objects.values_list("certificate_id", flat=True))
    pairs: dict[tuple[int, str], list] = {}
    for certificate in certificate_model.objects.select_related("signing_request").order_by(
        "uploaded_at", "id"
    ):
        request = certificate.signing_request
        certificate.environment_id = request.environment_id
        certificate.purpose = request.purpose
        pairs.setdefault((request.environment_id, request.purpose), []).append(certificate)
    for certificates in pairs.values():
        valid = [
            c for c in certificates if c.not_before <= now < c.not_after and c.pk not in revoked
        ]
        current = (
            max(valid, key=lambda c: (c.not_after, c.uploaded_at, c.pk))
            if valid
            else certificates[-1]
        )
        history = [c for c in certificates if c.pk != current.pk] + [current]
        for previous, following in pairwise(history):
            previous.superseded_at = following.uploaded_at
            following.replaces_id = previous.pk
        for certificate in history:
            certificate_model.objects.filter(pk=certificate.pk).update(
                environment_id=certificate.environment_id,
                purpose=certificate.purpose,
                superseded_at=certificate.superseded_at,
                replaces_id=certificate.replaces_id,
            )


def date_cancellations(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    request_model = apps.get_model("certificates", "SigningRequest")
    for request in request_model.objects.filter(status="cancelled", cancelled_at__isnull=True):
        request_model.objects.filter(pk=request.pk).update(cancelled_at=request.updated_at)


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0005_audit_hash_chain"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="environment",
            name="prepare_renewals",
            field=models.BooleanField(
                blank=True,
                default=None,
                help_text="Prepare renewals automatically; empty: on unless the user brought the key.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="signingrequest",
            name="cancel_reason",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="signingrequest",
            name="cancelled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="signingrequest",
            name="cancelled_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(date_cancellations, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="signingrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("cancelled_at__isnull", False), ("status", "cancelled")),
                    models.Q(
                        models.Q(("status", "cancelled"), _negated=True),
                        ("cancelled_at__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="request_cancelled_has_date",
            ),
        ),
        migrations.AddField(
            model_name="certificate",
            name="environment",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="certificates",
                to="certificates.environment",
            ),
        ),
        migrations.AddField(
            model_name="certificate",
            name="purpose",
            field=models.CharField(
                choices=[("mtls", "mTLS"), ("signature", "PCI DSS signature")],
                default="",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="certificate",
            name="warnings",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="certificate",
            name="replaces",
            field=models.OneToOneField(
                blank=True,
                help_text="The certificate that was in service for the pair when this one was installed.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="replaced_by",
                to="certificates.certificate",
            ),
        ),
        migrations.AddField(
            model_name="certificate",
            name="superseded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(record_supersession, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="certificate",
            name="environment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="certificates",
                to="certificates.environment",
            ),
        ),
        migrations.AddConstraint(
            model_name="certificate",
            constraint=models.UniqueConstraint(
                condition=models.Q(("superseded_at__isnull", True)),
                fields=("environment", "purpose"),
                name="one_certificate_in_service",
            ),
        ),
        migrations.AddConstraint(
            model_name="certificate",
            constraint=models.CheckConstraint(
                condition=models.Q(("replaces", models.F("id")), _negated=True),
                name="certificate_replaces_another",
            ),
        ),
        migrations.AddIndex(
            model_name="certificate",
            index=models.Index(
                condition=models.Q(("superseded_at__isnull", True)),
                fields=["not_after"],
                name="certificate_in_service_expiry",
            ),
        ),
    ]
