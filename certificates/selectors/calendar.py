"""The private iCalendar feed: whose it is, and its events (the document itself is written by
certificates/calendar_format.py). The feed holds only what the user's environments show anyway:
names, purposes, Common Names, serials and dates.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from certificates import crypto
from certificates.calendar_format import CalendarEvent
from certificates.models import CalendarFeed, Purpose
from certificates.permissions import environments_for
from certificates.selectors.status import certificates_in_service, status_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def token_sha256(token: str) -> str:
    """What the database keeps of a feed token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def calendar_feed_owner(*, token: str) -> AbstractBaseUser | None:
    """The active user whose feed URL carries ``token``; None for an unknown or replaced one."""
    if not token or len(token) > 128:
        return None
    feed = (
        CalendarFeed.objects.select_related("user").filter(token_sha256=token_sha256(token)).first()
    )
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


def calendar_events(*, user: AbstractBaseUser, now: datetime) -> list[CalendarEvent]:
    """Two all-day events per certificate in service (not being revoked) of the environments
    ``user`` may view, in one query: a replaced or revoked certificate has no renewal to plan,
    and its events leave the feed.

    The days are certdesk's (``TIME_ZONE``): the day the renewal window opens and the day the
    certificate expires; the exact notAfter, as OpenSSL prints it, is in the description. The
    UIDs depend only on the certificate, so a client updates an event instead of adding a
    second one when the feed is fetched again.
    """
    lead = timedelta(days=int(settings.CERTDESK_RENEWAL_LEAD_DAYS))
    certificates = certificates_in_service(now=now).filter(
        environment__in=environments_for(user), revocation__isnull=True
    )
    events = []
    for certificate in certificates:
        request = certificate.signing_request
        name = f"{request.environment.name} {Purpose(request.purpose).label} {request.common_name}"
        url = f"{settings.CERTDESK_SITE_URL}{reverse('request_detail', args=[request.pk])}"
        description = (
            f"Treezor {request.environment.name}, {Purpose(request.purpose).label} certificate "
            f"for {request.common_name}, serial {certificate.serial}.\n"
            f"notAfter={crypto.openssl_date(certificate.not_after)}\n"
            f"Status now: {status_of(certificate, now=now)}.\n{url}"
        )
        events.append(
            CalendarEvent(
                uid=f"cert-{certificate.pk}-renewal@certdesk",
                day=timezone.localdate(certificate.not_after - lead),
                summary=f"Renewal window opens: {name}",
                description=description,
                url=url,
            )
        )
        events.append(
            CalendarEvent(
                uid=f"cert-{certificate.pk}-expiry@certdesk",
                day=timezone.localdate(certificate.not_after),
                summary=f"Expires: {name}",
                description=description,
                url=url,
            )
        )
    return events
