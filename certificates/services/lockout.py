"""Lifting a login lockout (certificates/lockout.py counts the failures): an administrator's act,
audited like every other change of Settings."""

from __future__ import annotations

import ipaddress

from axes.utils import reset  # type: ignore[import-untyped]
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError


def _require_administrator(actor: Actor) -> None:
    if actor.user is not None and not (actor.user.is_active and actor.user.is_superuser):
        raise PermissionDenied("Only certdesk administrators may unlock accounts.")


def login_lock_reset(*, actor: Actor, username: str = "", ip: str = "") -> int:
    """Forget the failed logins of one account (``username``) or one address (``ip``), so its
    next login is checked as if nothing had failed; returns how many attempt records went.

    Audited as ``settings.login_unlocked`` with what was unlocked and the count. Failures of
    other accounts from the same address, and of the account from other addresses, go too when
    they are one record (axes keeps one per user name, address and browser).
    """
    _require_administrator(actor)
    username = username.strip()
    ip = ip.strip()
    if bool(username) == bool(ip):
        raise ServiceError("Name one account or one address to unlock.", field="username")
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise ServiceError(f"{ip!r} is not an IP address.", field="ip") from None
    with transaction.atomic():
        cleared: int = reset(username=username) if username else reset(ip=ip)
        user = get_user_model().objects.filter(username=username).first() if username else None
        audit_record(
            actor=actor,
            action="settings.login_unlocked",
            target=user,
            details={"username": username, "attempts_cleared": cleared}
            if username
            else {"ip_address": ip, "attempts_cleared": cleared},
        )
    return cleared
