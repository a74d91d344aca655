"""The Django admin, open to superusers only: it can change who holds which role."""

from django.contrib import admin
from django.http import HttpRequest


def _superusers_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]
admin.site.site_header = "certdesk administration"
admin.site.site_title = "certdesk"
