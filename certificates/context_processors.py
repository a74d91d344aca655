"""Template context every page needs: which navigation links the user may follow."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from certificates.models import Membership, Role


def navigation(request: HttpRequest) -> dict[str, object]:
    def can_see_audit_log() -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        if user.is_superuser:
            return True
        return Membership.objects.filter(user_id=user.pk, role=Role.CUSTODIAN).exists()

    # Lazy: pages that do not render the menu (downloads, errors) pay no query.
    return {"can_see_audit_log": SimpleLazyObject(can_see_audit_log)}
