"""The Django admin, open to superusers only. Private keys never show here (rule 3): the
encrypted column is excluded and keys are read-only; audit events can only be read."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

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


def _superusers_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]
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


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug", "signature_required", "api_host")
    prepopulated_fields = {"slug": ("name",)}  # noqa: RUF012


@admin.register(CompanyProfile)
class CompanyProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("company_name", "organization", "country")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not CompanyProfile.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "environment", "role")
    list_filter = ("environment", "role")


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
