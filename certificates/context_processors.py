"""Template context every page needs: which navigation links the user may follow."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from certificates.permissions import may_read_audit_log


def navigation(request: HttpRequest) -> dict[str, object]:
    # Lazy: pages that do not render the menu (downloads, errors) pay no query.
    return {"can_see_audit_log": SimpleLazyObject(lambda: may_read_audit_log(request.user))}
