"""No unaudited back door through the Django admin, and no deletion of a user anywhere.

Issue 12, point 3: granting Production custodian in the admin wrote no audit event, and deleting
a user there rewrote the actor of their audit events. Users, memberships, environments and the
company profile now change only in Settings (audited services): every add, change and delete the
admin would accept is refused, and a user is deactivated, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.db.transaction import atomic
from django.test import Client
from django.urls import reverse

from certificates import services
from certificates.accounts import UserDeletionRefused
from certificates.models import AuditEvent, CompanyProfile, Environment, Membership, Role
from certificates.services.audit import Actor

pytestmark = pytest.mark.django_db

AccessAttempt = apps.get_model("axes", "AccessAttempt")


@dataclass
class Objects:
    """What the admin is asked to change: a Sandbox viewer and the records around them."""

    alice: User
    membership: Membership
    sandbox: Environment
    production: Environment
    profile: CompanyProfile
    attempt: Any  # django-axes' AccessAttempt


@pytest.fixture
def objects(sandbox: Environment, production: Environment) -> Objects:
    alice = User.objects.create_user("alice", "alice@example.com", "alice's long password")
    membership = Membership.objects.create(user=alice, environment=sandbox, role=Role.VIEWER)
    profile = CompanyProfile.objects.get_or_create(pk=1)[0]
    attempt = AccessAttempt.objects.create(
        username="alice", ip_address="192.0.2.7", user_agent="test", failures_since_start=5
    )
    return Objects(alice, membership, sandbox, production, profile, attempt)


def state(objects: Objects) -> dict[str, Any]:
    """Everything a refused admin POST must leave as it was, audit log included."""
    objects.alice.refresh_from_db()
    return {
        "users": sorted(User.objects.values_list("username", "is_active", "is_superuser")),
        "password": objects.alice.password,
        "memberships": sorted(
            Membership.objects.values_list("user__username", "environment__slug", "role")
        ),
        "environments": sorted(
            Environment.objects.values_list("slug", "name", "tam_emails", "signature_required")
        ),
        "profile": list(CompanyProfile.objects.values_list("pk", "company_name", "country")),
        "groups": list(Group.objects.values_list("name")),
        "attempts": list(AccessAttempt.objects.values_list("username", "failures_since_start")),
        "audit": AuditEvent.objects.count(),
    }


# (name, URL, form data); {alice}, {membership}, {sandbox}, {production}, {attempt} filled in.
REFUSED_POSTS: list[tuple[str, str, dict[str, Any]]] = [
    # Users: add, make an administrator, set a password, delete (one and in bulk).
    (
        "user add",
        "/admin/auth/user/add/",
        {
            "username": "mallory",
            "usable_password": "true",
            "password1": "mallory's long password",
            "password2": "mallory's long password",
        },
    ),
    (
        "user made administrator",
        "/admin/auth/user/{alice}/change/",
        {
            "username": "alice",
            "email": "alice@example.com",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    ),
    (
        "user password",
        "/admin/auth/user/{alice}/password/",
        {"password1": "a new long password", "password2": "a new long password"},
    ),
    ("user delete", "/admin/auth/user/{alice}/delete/", {"post": "yes"}),
    (
        "user bulk delete",
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": ["{alice}"], "post": "yes"},
    ),
    ("group add", "/admin/auth/group/add/", {"name": "everyone"}),
    # Memberships: the Production custodian of the issue, a changed role, a removal.
    (
        "membership add",
        "/admin/certificates/membership/add/",
        {"user": "{alice}", "environment": "{production}", "role": Role.CUSTODIAN},
    ),
    (
        "membership change",
        "/admin/certificates/membership/{membership}/change/",
        {"user": "{alice}", "environment": "{sandbox}", "role": Role.CUSTODIAN},
    ),
    ("membership delete", "/admin/certificates/membership/{membership}/delete/", {"post": "yes"}),
    (
        "membership bulk delete",
        "/admin/certificates/membership/",
        {"action": "delete_selected", "_selected_action": ["{membership}"], "post": "yes"},
    ),
    # Environments and the company profile.
    (
        "environment add",
        "/admin/certificates/environment/add/",
        {"name": "Staging", "slug": "staging", "tam_emails": "[]", "team_emails": "[]"},
    ),
    (
        "environment change",
        "/admin/certificates/environment/{sandbox}/change/",
        {
            "name": "Sandbox",
            "slug": "sandbox",
            "tam_emails": '["attacker@example.net"]',
            "team_emails": "[]",
            "signature_required": "on",
        },
    ),
    ("environment delete", "/admin/certificates/environment/{sandbox}/delete/", {"post": "yes"}),
    (
        "company profile change",
        "/admin/certificates/companyprofile/1/change/",
        {"company_name": "Evil Corp", "country": "US"},
    ),
    ("company profile delete", "/admin/certificates/companyprofile/1/delete/", {"post": "yes"}),
    # django-axes: deleting an attempt would unlock alice without a trace.
    ("access attempt delete", "/admin/axes/accessattempt/{attempt}/delete/", {"post": "yes"}),
    (
        "access attempt bulk delete",
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ["{attempt}"], "post": "yes"},
    ),
]


def filled(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [filled(item, ids) for item in value]
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize(
    ("url", "data"),
    [(url, data) for _, url, data in REFUSED_POSTS],
    ids=[name for name, _, _ in REFUSED_POSTS],
)
def test_the_admin_refuses_every_change(
    admin_client: Client, objects: Objects, url: str, data: dict[str, Any]
) -> None:
    """Each add, change and delete POST is refused (403, 404 for groups, or no action for the
    bulk delete) and nothing changes: no user, role, environment, profile or lockout, and no
    audit event either."""
    ids = {
        "alice": objects.alice.pk,
        "membership": objects.membership.pk,
        "sandbox": objects.sandbox.pk,
        "production": objects.production.pk,
        "attempt": objects.attempt.pk,
    }
    before = state(objects)
    response = admin_client.post(filled(url, ids), {k: filled(v, ids) for k, v in data.items()})
    if data.get("action") == "delete_selected":
        # The action is not offered: the list comes back, nothing deleted.
        assert response.status_code in (200, 302)
    elif url.startswith("/admin/auth/group/"):
        assert response.status_code == 404
    else:
        assert response.status_code == 403
    assert state(objects) == before


@pytest.mark.parametrize(
    ("url", "settings_url"),
    [
        ("/admin/auth/user/", "/settings/people/"),
        ("/admin/auth/user/{alice}/change/", "/settings/people/"),
        ("/admin/certificates/membership/", "/settings/"),
        (
            "/admin/certificates/membership/{membership}/change/",
            "/settings/environments/sandbox/members/",
        ),
        (
            "/admin/certificates/environment/{sandbox}/change/",
            "/settings/environments/sandbox/edit/",
        ),
        ("/admin/certificates/companyprofile/", "/settings/company/"),
    ],
)
def test_the_admin_pages_point_to_settings(
    admin_client: Client, objects: Objects, url: str, settings_url: str
) -> None:
    """The read-only pages still show the records, and say where to change them."""
    ids = {"alice": objects.alice.pk, "membership": objects.membership.pk}
    ids["sandbox"] = objects.sandbox.pk
    page = admin_client.get(url.format(**ids))
    assert page.status_code == 200
    body = page.content.decode()
    assert f'<a href="{settings_url}">Open Settings</a>' in body
    assert "audit log" in body
    assert 'name="_save"' not in body  # no Save button
    assert "deletelink" not in body  # no Delete link


def test_the_admin_shows_no_password_hash(admin_client: Client, objects: Objects) -> None:
    """The read-only user page lists the account, without its password (not even the masked
    hash) and without the link to the admin's password form."""
    body = admin_client.get(f"/admin/auth/user/{objects.alice.pk}/change/").content.decode()
    assert "alice@example.com" in body
    assert "field-password" not in body
    assert "/password/" not in body


def test_the_admin_offers_no_delete_action(admin_client: Client, objects: Objects) -> None:
    """The bulk "Delete selected" action is not in the user, membership or lockout lists; each
    says where in Settings the change is made (the lockouts: where accounts are unlocked)."""
    for url in (
        "/admin/auth/user/",
        "/admin/certificates/membership/",
        "/admin/axes/accessattempt/",
    ):
        body = admin_client.get(url).content.decode()
        assert 'value="delete_selected"' not in body, url
        assert "Open Settings</a>" in body, url


def test_a_user_cannot_be_deleted_anywhere(objects: Objects) -> None:
    """Model.delete, QuerySet.delete and a cascade through the ORM all refuse; the user, their
    role and the audit event naming them stay as they were."""
    services.membership_set(
        actor=Actor.cli(), environment=objects.production, user=objects.alice, role=Role.VIEWER
    )
    # (Each in its own savepoint: a refused deletion rolls back the transaction it ran in.)
    with pytest.raises(UserDeletionRefused, match="deactivated, never deleted"), atomic():
        objects.alice.delete()
    with pytest.raises(UserDeletionRefused), atomic():
        User.objects.filter(username="alice").delete()
    with pytest.raises(UserDeletionRefused), atomic():
        User.objects.all().delete()
    assert User.objects.filter(username="alice").exists()
    assert Membership.objects.filter(user=objects.alice).count() == 2
    granted = AuditEvent.objects.get(action="settings.membership_set")
    assert granted.target_id == str(Membership.objects.get(environment=objects.production).pk)


def test_a_deactivated_users_audit_events_keep_their_actor(
    admin_client: Client, admin_user: User, objects: Objects
) -> None:
    """alice acts, is deactivated from Settings; her event still names her (foreign key and
    label) on the audit page, and the deactivation itself names the administrator."""
    objects.alice.is_superuser = True
    objects.alice.save(update_fields=["is_superuser"])
    services.company_profile_update(actor=Actor(user=objects.alice), company_name="Acme SAS")
    acted = AuditEvent.objects.get(action="settings.company_updated")
    response = admin_client.post(
        reverse("settings_user_deactivate", args=[objects.alice.pk]), {"confirm": "yes"}
    )
    assert response.status_code == 302
    objects.alice.refresh_from_db()
    assert not objects.alice.is_active
    acted.refresh_from_db()
    assert (acted.actor_id, acted.actor_label) == (objects.alice.pk, "alice")
    deactivated = AuditEvent.objects.get(action="settings.user_deactivated")
    assert (deactivated.actor_label, deactivated.target_id) == ("admin", str(objects.alice.pk))
    page = admin_client.get(reverse("audit_log"), {"action": "settings.company_updated"})
    assert page.status_code == 200
    assert "alice" in page.content.decode()


def test_an_administrators_own_password_change_is_audited(
    admin_client: Client, admin_user: User
) -> None:
    """The admin's "Change password" still works, and is recorded (without the password); a
    refused attempt records nothing."""
    url = "/admin/password_change/"
    wrong = admin_client.post(
        url,
        {
            "old_password": "not it",
            "new_password1": "another long passphrase 7",
            "new_password2": "another long passphrase 7",
        },
    )
    assert wrong.status_code == 200
    assert not AuditEvent.objects.filter(action="settings.password_changed").exists()
    changed = admin_client.post(
        url,
        {
            "old_password": "correct horse battery",
            "new_password1": "another long passphrase 7",
            "new_password2": "another long passphrase 7",
        },
    )
    assert changed.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.check_password("another long passphrase 7")
    event = AuditEvent.objects.get(action="settings.password_changed")
    assert (event.actor_label, event.target_id) == ("admin", str(admin_user.pk))
    assert "another long passphrase" not in str(event.details)
