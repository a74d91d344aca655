"""Settings for the emails (issue 16): copying the team on emails to the TAM is a checkbox of
the environment (on by default, audited), and an environment whose reminders would reach nobody
says so on Settings, its edit page and its members page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Environment, Membership, Profile
from tests.support.settings_pages import environment_data

pytestmark = pytest.mark.django_db

NOBODY = (
    'Nobody will be reminded for {name}: <a href="/settings/environments/{slug}/members/">'
    "give someone the requester or custodian role</a>, or "
    '<a href="/settings/environments/{slug}/edit/">add a team address</a>.'
)


def checkbox(page: str) -> str:
    """The page's "Copy the team" input tag."""
    match = re.search(r'<input type="checkbox" name="copy_team_on_tam_emails"[^>]*>', page)
    assert match is not None
    return match.group()


def nobody(environment: Environment) -> str:
    return NOBODY.format(name=environment.name, slug=environment.slug)


def test_copying_the_team_is_a_checkbox_ticked_by_default_and_audited(
    admin_client: Client, sandbox: Environment
) -> None:
    url = f"/settings/environments/{sandbox.slug}/edit/"
    page = admin_client.get(url).content.decode()
    assert "Copy the team on emails to the TAM" in page
    assert checkbox(page).endswith(" checked>")
    data = environment_data(sandbox)
    del data["copy_team_on_tam_emails"]
    assert admin_client.post(url, data).status_code == 302
    sandbox.refresh_from_db()
    assert sandbox.copy_team_on_tam_emails is False
    event = AuditEvent.objects.filter(action="settings.environment_updated").last()
    assert event is not None
    assert event.details["changed"]["copy_team_on_tam_emails"] == [True, False]
    page = admin_client.get(url).content.decode()
    assert not checkbox(page).endswith(" checked>")


def test_a_new_environment_copies_the_team_unless_unticked(admin_client: Client) -> None:
    page = admin_client.get("/settings/environments/add/").content.decode()
    assert checkbox(page).endswith(" checked>")
    base = {"name": "Staging", "tam_emails": "", "team_emails": "", "ca_bundle_text": ""}
    admin_client.post("/settings/environments/add/", {**base, "copy_team_on_tam_emails": "on"})
    admin_client.post("/settings/environments/add/", {**base, "name": "Preprod"})
    assert Environment.objects.get(name="Staging").copy_team_on_tam_emails is True
    assert Environment.objects.get(name="Preprod").copy_team_on_tam_emails is False


def test_settings_warns_when_an_environment_would_remind_nobody(
    admin_client: Client, admin_user: User, sandbox: Environment, production: Environment
) -> None:
    """The administrator receives reminders of every environment, so nobody is warned about
    until they turn reminders off; then a team address, or an owner, ends the warning."""
    production.team_emails = []
    production.save()
    page = admin_client.get("/settings/").content.decode()
    assert "Nobody will be reminded" not in page

    Profile.objects.create(user=admin_user, receives_reminders=False)
    page = admin_client.get("/settings/").content.decode()
    assert nobody(sandbox) in page
    assert nobody(production) in page

    sandbox.team_emails = ["team@acme.example"]
    sandbox.save()
    owner = User.objects.create_user("olga", "olga@acme.example")
    Membership.objects.create(user=owner, environment=production, role="viewer")
    page = admin_client.get("/settings/").content.decode()
    assert nobody(sandbox) not in page
    assert nobody(production) in page  # a viewer gets no reminders

    for url in (
        "/settings/environments/production/edit/",
        "/settings/environments/production/members/",
    ):
        assert nobody(production) in admin_client.get(url).content.decode()
    Membership.objects.filter(user=owner).update(role="custodian")
    for url in (
        "/settings/",
        "/settings/environments/production/edit/",
        "/settings/environments/production/members/",
    ):
        assert "Nobody will be reminded" not in admin_client.get(url).content.decode()


def test_an_owner_without_an_address_or_inactive_reminds_nobody(
    admin_client: Client, admin_user: User, production: Environment
) -> None:
    """The recipients selector decides: an owner with no address, or deactivated, hears
    nothing."""
    production.team_emails = []
    production.save()
    Profile.objects.create(user=admin_user, receives_reminders=False)
    Membership.objects.create(
        user=User.objects.create_user("noaddress"), environment=production, role="requester"
    )
    Membership.objects.create(
        user=User.objects.create_user("gone", "gone@acme.example", is_active=False),
        environment=production,
        role="custodian",
    )
    page = admin_client.get("/settings/environments/production/members/").content.decode()
    assert nobody(production) in page
