"""Treezor's two environments exist from the start, and the one company-profile row."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

ENVIRONMENTS = [("Sandbox", "sandbox"), ("Production", "production")]


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    environment = apps.get_model("certificates", "Environment")
    for name, slug in ENVIRONMENTS:
        environment.objects.get_or_create(slug=slug, defaults={"name": name})
    apps.get_model("certificates", "CompanyProfile").objects.get_or_create(id=1)


def remove(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("certificates", "Environment").objects.filter(
        slug__in=[slug for _, slug in ENVIRONMENTS], signing_requests__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("certificates", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
