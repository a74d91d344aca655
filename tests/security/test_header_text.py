"""Text that reaches an email header or a file name carries no control character (issue 12, #10).

A company name with a newline made every email fail in the worker. The services refuse such
values (not only the forms), with a message saying what is wrong, and save nothing.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from certificates import services
from certificates.models import AuditEvent, CompanyProfile, Environment
from certificates.services.audit import Actor
from certificates.services.errors import ServiceError

pytestmark = pytest.mark.django_db

# A line break (both kinds), a tab, NUL, DEL, a C1 control (NEL) and the Unicode line separator.
CONTROLS = ["\n", "\r", "\t", "\x00", "\x7f", "\x85", "\u2028"]


def saved_events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


@pytest.mark.parametrize("control", CONTROLS)
def test_company_name_with_a_control_character_is_refused_by_the_service(control: str) -> None:
    """The service itself refuses the name, says why, and the profile stays as it was."""
    before = CompanyProfile.objects.values().get(pk=1)
    with pytest.raises(ServiceError) as refused:
        services.company_profile_update(
            actor=Actor.cli(), company_name=f"Acme{control}Bcc: all@example.com"
        )
    assert refused.value.field == "company_name"
    assert "Company name contains" in refused.value.message
    assert CompanyProfile.objects.values().get(pk=1) == before
    assert saved_events("settings.company_updated") == 0


def test_company_name_with_a_newline_is_refused_on_the_page(admin_client: Client) -> None:
    """The settings page shows the reason next to the field and nothing is saved."""
    response = admin_client.post(
        reverse("settings_company"), {"company_name": "Acme\nBcc: all@example.com"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["company_name"]
    assert any("Company name contains a line break" in error for error in errors)
    assert CompanyProfile.objects.get(pk=1).company_name == "company"
    assert saved_events("settings.company_updated") == 0


def test_trailing_line_break_is_only_trimmed() -> None:
    """A name that is clean once trimmed (a pasted line) is saved without the line break."""
    profile = services.company_profile_update(actor=Actor.cli(), company_name="Acme SAS\r\n")
    assert profile.company_name == "Acme SAS"


@pytest.mark.parametrize("control", CONTROLS)
def test_environment_name_with_a_control_character_is_refused(control: str) -> None:
    """No environment is created under a name that would split a header or a file name."""
    with pytest.raises(ServiceError) as refused:
        services.environment_create(
            actor=Actor.cli(), name=f"Stag{control}ing", tam_emails=[], team_emails=[]
        )
    assert refused.value.field == "name"
    assert "Environment name contains" in refused.value.message
    assert not Environment.objects.filter(name__startswith="Stag").exists()


def test_environment_rename_with_a_newline_is_refused(sandbox: Environment) -> None:
    """Renaming keeps the old name when the new one holds a line break."""
    with pytest.raises(ServiceError, match="line break"):
        services.environment_update(
            actor=Actor.cli(),
            environment=sandbox,
            name="Sandbox\nX-Injected: 1",
            tam_emails=[],
            team_emails=[],
        )
    sandbox.refresh_from_db()
    assert sandbox.name == "Sandbox"


@pytest.mark.parametrize("field", ["tam_emails", "team_emails"])
def test_addresses_with_a_control_character_are_refused(sandbox: Environment, field: str) -> None:
    """A quoted address passes Django's EmailValidator with a control character; not here."""
    before = Environment.objects.values().get(pk=sandbox.pk)
    addresses = {"tam_emails": ["tam@treezor.com"], "team_emails": ["team@acme.com"]}
    addresses[field] = ['"a\x01b"@example.com']
    with pytest.raises(ServiceError) as refused:
        services.environment_update(
            actor=Actor.cli(),
            environment=sandbox,
            name="Sandbox",
            tam_emails=addresses["tam_emails"],
            team_emails=addresses["team_emails"],
        )
    assert refused.value.field == field
    assert "control character" in refused.value.message
    assert Environment.objects.values().get(pk=sandbox.pk) == before


def test_person_address_with_a_control_character_is_refused() -> None:
    """A person's address (a To: header of reminders) is held to the same rule."""
    with pytest.raises(ServiceError) as refused:
        services.invitation_create(actor=Actor.cli(), email='"b\x1bob"@acme.com', roles=[])
    assert refused.value.field == "email"
    assert "control character" in refused.value.message
    assert not User.objects.exists()


def test_environment_page_shows_the_refusal_of_a_name_with_a_newline(
    admin_client: Client, sandbox: Environment
) -> None:
    """The environment page explains the refusal next to the name (no 500) and keeps the name."""
    from tests.support.settings_pages import environment_data

    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(sandbox, name="Sandbox\nX-Injected: 1"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["name"]
    assert any("Environment name contains a line break" in error for error in errors)
    sandbox.refresh_from_db()
    assert sandbox.name == "Sandbox"
    assert saved_events("settings.environment_updated") == 0
