"""The Django admin, open to superusers only, and read-only: nothing changes here unaudited.

Private keys never show here (rule 3): the encrypted column is excluded and keys are read-only;
audit events can only be read. Every write of certdesk goes through a service that records an
audit event, so the admin offers no add, change or delete on any model (and so no bulk
"delete selected" action either); a change POSTed anyway is refused with 403. Per model:

- Users, memberships, environments, the company profile: read-only here, each page pointing to
  its Settings page, where the same change goes through the services (``services.company``,
  ``services.environments``, ``services.people``) and is audited (granting a role, adding a
  person, deactivating or reactivating one). Users are never deleted
  (``certificates.accounts`` refuses it everywhere): they are deactivated.
- Groups: not registered. certdesk gives rights by superuser status and per-environment
  memberships only; groups and Django permissions grant nothing, so nothing to show.
- django-axes' access attempts, access logs and failure logs: read-only (the login history).
  Deleting an attempt would unlock an account without a trace: accounts are unlocked in
  Settings (audited) or with the ``axes_reset_*`` commands (docs/operations.md).
- django-allauth's addresses, second factors, SSO accounts and sessions: read-only, a second
  factor's data not shown (Profile and Settings -> People change them, audited).
- Keys, requests, certificates, revocations, audit events: read-only, as they always were.

The one write left is an administrator's own password ("Change password" at the top of the
admin): it is recorded as ``settings.password_changed``.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from certificates.models import (
    AuditEvent,
    Certificate,
    CompanyProfile,
    Environment,
    Key,
    Membership,
    Revocation,
    SigningRequest,
)
from certificates.services.audit import Actor, audit_record


def _superusers_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]
_admin_password_change = admin.site.password_change


def _audited_password_change(
    request: HttpRequest, extra_context: dict[str, Any] | None = None
) -> HttpResponse:
    """The admin's "Change password" (an administrator's own): recorded with the change.

    A success is the redirect to the "done" page; the event is written in the same transaction
    as the new password, and holds the username only.
    """
    with transaction.atomic():
        response = _admin_password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:
            actor = Actor.from_request(request)
            if actor.user is not None:
                audit_record(
                    actor=actor,
                    action="settings.password_changed",
                    target=actor.user,
                    details={"username": actor.user.get_username()},
                )
    return response


admin.site.password_change = _audited_password_change  # type: ignore[method-assign,assignment]
admin.site.site_header = "certdesk administration"
admin.site.site_title = "certdesk"


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows that only services write: visible to administrators, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ManagedInSettings(ReadOnlyAdmin):
    """Rows administrators change in Settings, through the audited services: read-only here,
    with a message on each page saying where to change them."""

    settings_hint = "Change these in Settings: every change there is recorded in the audit log."

    def settings_url(self, obj: Any = None) -> str:
        return reverse("settings_home")

    def _point_to_settings(self, request: HttpRequest, obj: Any = None) -> None:
        messages.info(
            request,
            format_html(
                '{} <a href="{}">Open Settings</a>.', self.settings_hint, self.settings_url(obj)
            ),
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET":
            self._point_to_settings(request)
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            self._point_to_settings(request, self.get_object(request, object_id))
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(User)
class CertdeskUserAdmin(ManagedInSettings, UserAdmin):  # type: ignore[type-arg]
    """People: added, deactivated and reactivated in Settings -> People; never deleted."""

    settings_hint = (
        "People are added, deactivated and reactivated in Settings, where it is recorded in the "
        "audit log; they are never deleted."
    )
    list_display = ("username", "email", "is_active", "is_superuser", "last_login")
    list_filter = ("is_active", "is_superuser")
    # No password hash, no groups or permissions (certdesk does not use them).
    fieldsets = (
        (None, {"fields": ("username", "email", "first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_superuser", "last_login", "date_joined")}),
    )
    readonly_fields = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_superuser",
        "last_login",
        "date_joined",
    )

    def settings_url(self, obj: Any = None) -> str:
        return reverse("settings_people")


@admin.register(Environment)
class EnvironmentAdmin(ManagedInSettings):
    list_display = ("name", "slug", "signature_required", "api_host")

    def settings_url(self, obj: Any = None) -> str:
        if isinstance(obj, Environment):
            return reverse("settings_environment_edit", args=[obj.slug])
        return reverse("settings_home")


@admin.register(CompanyProfile)
class CompanyProfileAdmin(ManagedInSettings):
    list_display = ("company_name", "organization", "country")

    def settings_url(self, obj: Any = None) -> str:
        return reverse("settings_company")


@admin.register(Membership)
class MembershipAdmin(ManagedInSettings):
    list_display = ("user", "environment", "role")
    list_filter = ("environment", "role")
    settings_hint = (
        "Roles are given and removed in Settings (an environment's Members), where it is "
        "recorded in the audit log."
    )

    def settings_url(self, obj: Any = None) -> str:
        if isinstance(obj, Membership):
            return reverse("settings_members", args=[obj.environment.slug])
        return reverse("settings_home")


class AxesReadOnly(ManagedInSettings):
    """django-axes' records of logins: the history is read, never edited or deleted here.
    Deleting an access attempt would unlock an account without an audit event."""

    settings_hint = (
        "The login history is read-only here. Locked accounts and addresses are unlocked in "
        "Settings, where it is recorded in the audit log."
    )

    def settings_url(self, obj: Any = None) -> str:
        try:
            return reverse("settings_login_locks")
        except NoReverseMatch:
            return reverse("settings_people")


# Replaced in place: django-axes registered them first (its app comes before this one).
for _name in ("AccessAttempt", "AccessLog", "AccessFailureLog"):
    _model = apps.get_model("axes", _name)
    _axes_admin = type(admin.site.get_model_admin(_model))
    admin.site.unregister(_model)
    admin.site.register(_model, type(_axes_admin.__name__, (AxesReadOnly, _axes_admin), {}))


class AccountsReadOnly(ManagedInSettings):
    """django-allauth's records (addresses, second factors, SSO links, sessions): read here,
    changed by their owner on their Profile or by an administrator in Settings -> People, both
    audited. A second factor deleted here would leave no trace."""

    settings_hint = (
        "Accounts are read-only here. People change their address, second factors and sessions "
        "on their Profile; administrators reset a second factor or deactivate someone in "
        "Settings -> People, where it is recorded in the audit log."
    )

    def settings_url(self, obj: Any = None) -> str:
        return reverse("settings_people")

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        # A second factor's data (a sealed TOTP secret, a passkey's public key, the recovery
        # codes' seed) is nobody's business here.
        excluded = list(super().get_exclude(request, obj) or [])
        if any(field.name == "data" for field in self.model._meta.fields):
            excluded.append("data")
        return excluded


# Replaced in place, like axes' above: allauth's apps come before this one.
for _model in list(admin.site._registry):
    if _model._meta.app_label in {"account", "mfa", "socialaccount", "usersessions"}:
        _allauth_admin = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(
            _model, type(_allauth_admin.__name__, (AccountsReadOnly, _allauth_admin), {})
        )


@admin.register(Key)
class KeyAdmin(ReadOnlyAdmin):
    list_display = ("fingerprint", "source", "created_at", "compromised_at", "destroyed_at")
    # The encrypted column is never listed: a read-only admin shows only the fields named here.
    fields = readonly_fields = (
        "fingerprint",
        "source",
        "encryption_key_id",
        "created_by",
        "created_at",
        "compromised_at",
        "destroyed_at",
    )


@admin.register(SigningRequest)
class SigningRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "environment", "purpose", "common_name", "status", "created_at")
    list_filter = ("environment", "purpose", "status")


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ("serial", "subject", "not_before", "not_after")
    list_filter = ("signing_request__environment", "signing_request__purpose")


@admin.register(Revocation)
class RevocationAdmin(ReadOnlyAdmin):
    list_display = ("certificate", "reason", "requested_at", "confirmed_at")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_label", "action", "target_label", "environment", "ip")
    list_filter = ("action", "environment")
    search_fields = ("actor_label", "action", "target_label")
