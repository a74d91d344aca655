"""Services report every field problem in one refusal; the first administrator's password rule
is the service's, not only the form's."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from certificates import services
from certificates.models import AuditEvent, Environment
from certificates.services import Actor, ServiceError

pytestmark = pytest.mark.django_db


def test_a_new_environment_with_several_problems_is_refused_with_all_of_them(
    sandbox: Environment,
) -> None:
    """A taken name (and so a taken slug), an API host given as a URL and a bad TAM address:
    one refusal naming the four fields, and no environment added."""
    count = Environment.objects.count()
    with pytest.raises(ServiceError) as refused:
        services.environment_create(
            actor=Actor.cli(),
            name="SANDBOX",
            api_host="https://sandbox.treezor.co/v1",
            tam_emails=["not an address"],
            team_emails=[],
        )
    assert set(refused.value.errors) == {"name", "slug", "api_host", "tam_emails"}
    assert Environment.objects.count() == count
    assert not AuditEvent.objects.filter(action="settings.environment_created").exists()


def test_the_first_administrator_gets_the_password_rule_from_the_service() -> None:
    """A password Django's validators refuse is refused by first_admin_create itself (on the
    password1 field), and nobody is created."""
    code = services.setup_code_issue(actor=Actor.cli())
    with pytest.raises(ServiceError) as refused:
        services.first_admin_create(
            username="admin", email="admin@acme.example", password="admin", setup_code=code
        )
    assert set(refused.value.errors) == {"password1"}
    assert not get_user_model().objects.exists()
