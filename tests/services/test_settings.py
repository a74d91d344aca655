"""The settings services called directly (company profile, environments, memberships, people),
through the public ``certificates.services`` names: administrators only, every problem found at
once and named by its field, nothing changed on a refusal, each change audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from certificates import services
from certificates.models import AuditEvent, CompanyProfile, Environment, Membership
from certificates.services import Actor, ServiceError
from tests.support.factories import member
from tests.support.subjects import acme_form
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


def last_event(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-pk").first()
    assert event is not None, f"no {action} event"
    return event


def test_the_company_profile_is_saved_and_its_changes_audited() -> None:
    """A valid profile is stored as given (trimmed) and the audit event lists what changed."""
    profile = services.company_profile_update(actor=CLI, company_name="  Acme SAS ", **acme_form())
    assert profile.company_name == "Acme SAS"
    assert CompanyProfile.objects.get().common_name == "acme.com"
    changed = last_event("settings.company_updated").details["changed"]
    assert changed["company_name"][1] == "Acme SAS"


def test_every_problem_of_the_company_profile_is_named_at_once() -> None:
    """No company name, a bad country and a bad email: three field errors in one refusal,
    nothing saved."""
    before = list(CompanyProfile.objects.values())
    with pytest.raises(ServiceError) as refused:
        services.company_profile_update(
            actor=CLI, company_name="", **acme_form(country="Narnia", email="not an address")
        )
    assert {"company_name", "country", "email"} <= set(refused.value.errors)
    assert list(CompanyProfile.objects.values()) == before
    assert not AuditEvent.objects.filter(action="settings.company_updated").exists()


def test_only_administrators_change_settings(sandbox: Environment) -> None:
    """A custodian (not a superuser) is refused by every settings service."""
    actor = Actor.cli(member("custodian", sandbox))
    with pytest.raises(PermissionDenied):
        services.company_profile_update(actor=actor, company_name="Acme SAS")
    with pytest.raises(PermissionDenied):
        services.environment_create(actor=actor, name="Staging", tam_emails=[], team_emails=[])
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=actor, email="eve@acme.example", roles=[])
    assert not Environment.objects.filter(name="Staging").exists()
    assert not User.objects.filter(username="eve@acme.example").exists()


def test_a_new_environment_gets_a_slug_from_its_name_and_is_audited(local_ca: LocalCA) -> None:
    """The slug comes from the name; the CA bundle is stored as PEM; the event names it."""
    environment = services.environment_create(
        actor=CLI,
        name="Staging Two",
        tam_emails=["tam@treezor.example"],
        team_emails=[],
        ca_bundle=local_ca.bundle_pem(),
    )
    assert environment.slug == "staging-two"
    assert environment.ca_bundle.startswith("-----BEGIN CERTIFICATE-----")
    details = last_event("settings.environment_created").details
    assert (details["slug"], details["tam_emails"]) == ("staging-two", ["tam@treezor.example"])
    assert details["ca_bundle"]


def test_an_environment_name_already_taken_is_refused_on_its_field(sandbox: Environment) -> None:
    """Two environments cannot share a name: refused on ``name``, no second row."""
    with pytest.raises(ServiceError) as refused:
        services.environment_create(actor=CLI, name="Sandbox", tam_emails=[], team_emails=[])
    assert "name" in refused.value.errors
    assert Environment.objects.filter(name="Sandbox").count() == 1


def test_an_update_keeps_the_slug_and_the_bundle_unless_told(sandbox: Environment) -> None:
    """Renaming keeps the slug; ``ca_bundle=None`` keeps the bundle, empty bytes remove it."""
    bundle = sandbox.ca_bundle
    assert bundle
    services.environment_update(
        actor=CLI, environment=sandbox, name="Sandbox EU", tam_emails=[], team_emails=[]
    )
    sandbox.refresh_from_db()
    assert (sandbox.name, sandbox.slug, sandbox.ca_bundle) == ("Sandbox EU", "sandbox", bundle)
    services.environment_update(
        actor=CLI,
        environment=sandbox,
        name="Sandbox EU",
        tam_emails=[],
        team_emails=[],
        ca_bundle=b"",
    )
    sandbox.refresh_from_db()
    assert sandbox.ca_bundle == ""
    assert last_event("settings.environment_updated").details["changed"]["ca_bundle"] == "removed"


def test_a_membership_is_set_changed_and_refused_for_an_unknown_role(
    sandbox: Environment,
) -> None:
    """A role is given, then changed (the event keeps the previous one); a made-up role is
    refused on ``role`` and the membership stays."""
    user = member("viewer", sandbox)
    membership = services.membership_set(
        actor=CLI, environment=sandbox, user=user, role="custodian"
    )
    assert Membership.objects.get(pk=membership.pk).role == "custodian"
    assert last_event("settings.membership_set").details["previous_role"] == "viewer"
    with pytest.raises(ServiceError) as refused:
        services.membership_set(actor=CLI, environment=sandbox, user=user, role="owner")
    assert refused.value.field == "role"
    assert Membership.objects.get(pk=membership.pk).role == "custodian"


def test_a_new_person_chooses_a_hashed_password_that_no_event_carries(
    sandbox: Environment,
) -> None:
    """The invited person's password is stored hashed and never written into an event."""
    password = "a long passphrase 42"
    _invitation, link = services.invitation_create(
        actor=CLI, email="bob@acme.example", roles=[(sandbox, "requester")]
    )
    user = services.invitation_accept(
        token=link.rstrip("/").rsplit("/", 1)[-1],
        password=password,
        first_name="",
        last_name="",
        ip=None,
    )
    assert user.check_password(password)
    assert password not in user.password
    assert Membership.objects.get(user=user).role == "requester"
    assert password not in str(AuditEvent.objects.values_list("details", flat=True)[::1])


def test_an_address_already_taken_is_refused_on_its_field(sandbox: Environment) -> None:
    """Addresses (and so user names) are unique whatever the case: refused on ``email``, no
    second person."""
    member("viewer", sandbox, username="bob@acme.example")
    with pytest.raises(ServiceError) as refused:
        services.invitation_create(actor=CLI, email="BOB@acme.example", roles=[])
    assert "email" in refused.value.errors
    assert User.objects.filter(username__iexact="bob@acme.example").count() == 1
