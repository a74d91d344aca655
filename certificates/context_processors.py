"""Template context every page needs: the navigation links the person may follow."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from certificates import mfa_policy
from certificates.permissions import Action, environments_for, is_administrator, may_read_audit_log


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool  # the page shown is this link's page: aria-current="page"


def navigation_links(request: HttpRequest) -> list[NavLink]:
    """The top bar: a link only where the person may go, in one order for everyone.

    Every condition is the permission the page itself checks, asked of ``permissions``:
    requesting and uploading need the requester role in some environment, the audit log
    ``may_read_audit_log``, the outbox, Settings and the Django admin an administrator.
    """
    user = request.user
    if not user.is_authenticated:
        return []
    administrator = is_administrator(user)
    may_request = environments_for(user, Action.REQUEST).exists()
    match = request.resolver_match
    here = match.view_name if match is not None else ""
    shown = [
        ("Dashboard", "dashboard", True),
        ("New request", "wizard_start", may_request),
        ("Upload certificate", "certificate_upload", may_request),
        ("Certificates", "certificate_list", True),
        ("Requests", "request_list", True),
        ("Audit log", "audit_log", may_read_audit_log(user)),
        ("Outbox", "outbox", administrator),
        ("Settings", "settings_home", administrator),
        ("Calendar", "calendar", True),
        ("Django admin", "admin:index", administrator),
    ]
    return [
        NavLink(label=label, url=reverse(name), current=name == here)
        for label, name, allowed in shown
        if allowed
    ]


PROFILE_URL_PREFIXES = ("/profile/", "/accounts/")
ENROLMENT_URL_PREFIXES = ("/accounts/2fa/", "/accounts/second-factor/")


def navigation(request: HttpRequest) -> dict[str, object]:
    # Lazy: pages that do not render the menu (downloads, errors) pay no query.
    return {
        "nav_links": SimpleLazyObject(lambda: navigation_links(request)),
        # The person's own pages: their name in the top bar leads there and is marked current.
        "nav_profile_current": request.path.startswith(PROFILE_URL_PREFIXES),
        # The banner on every page while the second-factor policy waits for them.
        # (Not on the enrolment pages themselves, which say it.)
        "nav_second_factor_missing": SimpleLazyObject(
            lambda: (
                not request.path.startswith(ENROLMENT_URL_PREFIXES)
                and mfa_policy.needs_enrolment(request.user)
            )
        ),
        "password_login": settings.CERTDESK_PASSWORD_LOGIN,
    }
