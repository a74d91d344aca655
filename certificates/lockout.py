"""Failed-login counts per account and per address, with a limit for each (django-axes).

django-axes counts failures per user name and per address (AXES_LOCKOUT_PARAMETERS) but compares
both with one limit. certdesk wants them apart: an account is locked after
CERTDESK_LOGIN_FAILURE_LIMIT failures (5), an address only after
CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT (50), so one person's typos behind an office NAT do not lock
every colleague out. ``CertdeskAxesHandler`` (AXES_HANDLER) does that; the functions below give
the login page its "attempts left" and the Settings page its list of locked accounts.

Only failures within the cool-off (AXES_COOLOFF_TIME) count, as in axes itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from axes.attempts import get_cool_off_threshold  # type: ignore[import-untyped]
from axes.handlers.database import AxesDatabaseHandler  # type: ignore[import-untyped]
from axes.helpers import get_client_username  # type: ignore[import-untyped]
from axes.models import AccessAttempt  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone


@dataclass(frozen=True)
class LockedOut:
    """An account or an address at its limit, for the Settings page."""

    name: str
    failures: int
    last_attempt: datetime


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The account a login attempt was for (AXES_USERNAME_CALLABLE), one name per account.

    allauth's form posts ``login`` (a user name or an address) and authenticates with
    ``username`` or ``email``; the admin's form posts ``username``. An address that belongs to
    an account counts against that account's user name, so typing the address instead of the
    name does not buy a second series of guesses.
    """
    credentials = credentials or {}
    typed = str(
        credentials.get("username")
        or credentials.get("email")
        or request.POST.get("login")
        or request.POST.get("username")
        or ""
    ).strip()
    if "@" in typed:
        owner = (
            get_user_model()
            .objects.filter(email__iexact=typed)
            .order_by("pk")
            .values_list("username", flat=True)
            .first()
        )
        if owner:
            return str(owner)
    return typed


def _threshold(now: datetime | None = None) -> datetime:
    cool_off = settings.AXES_COOLOFF_TIME
    return (now or timezone.now()) - cool_off


def _sum(**filters: Any) -> int:
    total = AccessAttempt.objects.filter(**filters).aggregate(total=Sum("failures_since_start"))
    value: int = total["total"] or 0
    return value


def failure_counts(*, username: str | None, ip: str | None, since: datetime) -> tuple[int, int]:
    """(failures of the account, failures from the address) since ``since``."""
    account = _sum(username=username, attempt_time__gte=since) if username else 0
    address = _sum(ip_address=ip, attempt_time__gte=since) if ip else 0
    return account, address


def attempts_left(*, username: str | None, ip: str | None) -> int:
    """How many more failures the account (or the address) may have before it is locked."""
    account, address = failure_counts(username=username, ip=ip, since=_threshold())
    account_limit: int = settings.AXES_FAILURE_LIMIT
    address_limit: int = settings.CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT
    return max(0, min(account_limit - account, address_limit - address))


def _locked(field: str, limit: int) -> list[LockedOut]:
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=_threshold())
        .exclude(**{f"{field}__isnull": True})
        .values(field)
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=limit)
        .order_by(field)
    )
    return [
        LockedOut(name=row[field], failures=row["failures"], last_attempt=row["last"])
        for row in rows
        if row[field]
    ]


def locked_accounts() -> list[LockedOut]:
    """User names locked out now (at CERTDESK_LOGIN_FAILURE_LIMIT within the cool-off)."""
    return _locked("username", settings.AXES_FAILURE_LIMIT)


def locked_addresses() -> list[LockedOut]:
    """Addresses locked out now (at CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT within the cool-off)."""
    return _locked("ip_address", settings.CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT)


class CertdeskAxesHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """axes' database handler with a separate, higher limit per address.

    axes locks when ``get_failures`` reaches AXES_FAILURE_LIMIT (the account limit), both when a
    failure is recorded and before a password is checked. So ``get_failures`` answers the
    account's own count, or the account limit itself once the address has reached its own limit.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        account, address = failure_counts(
            username=get_client_username(request, credentials),
            ip=getattr(request, "axes_ip_address", None),
            since=get_cool_off_threshold(request),
        )
        if address >= settings.CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(account, int(settings.AXES_FAILURE_LIMIT))
        return account
