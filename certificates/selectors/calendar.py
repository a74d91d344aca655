"""The private iCalendar feed: whose it is, and its events, written by hand to RFC 5545.

The format is small enough that a library would not earn its place: two kinds of VEVENT, text
escaping (§3.3.11), CRLF line endings and folding at 75 octets (§3.1). The feed holds only what
the user's environments show anyway: names, purposes, Common Names, serials and dates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from certificates import crypto
from certificates.models import CalendarFeed, Purpose
from certificates.permissions import environments_for
from certificates.selectors.status import certificates_in_service, status_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_LINE_OCTETS = 75
# Calendar clients poll the feed; once an hour is plenty for dates a month apart.
REFRESH = "PT1H"


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


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime
    summary: str
    description: str
    url: str


def calendar_events(*, user: AbstractBaseUser, now: datetime) -> list[CalendarEvent]:
    """Two events per certificate in service (not being revoked) of the environments ``user``
    may view, in one query: a replaced or revoked certificate has no renewal to plan, and its
    events leave the feed.

    The UIDs depend only on the certificate, so a client updates an event instead of adding a
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
                start=certificate.not_after - lead,
                summary=f"Renewal window opens: {name}",
                description=description,
                url=url,
            )
        )
        events.append(
            CalendarEvent(
                uid=f"cert-{certificate.pk}-expiry@certdesk",
                start=certificate.not_after,
                summary=f"Expires: {name}",
                description=description,
                url=url,
            )
        )
    return events


def ics_escape(text: str) -> str:
    """TEXT values (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, newlines as \\n."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character.

    Each continuation starts with one space, which counts in its 75 octets.
    """
    if len(line.encode("utf-8")) <= MAX_LINE_OCTETS:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, MAX_LINE_OCTETS - 1
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_ics(*, events: list[CalendarEvent], now: datetime) -> str:
    """The VCALENDAR document: CRLF line endings, folded lines, escaped text."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//certdesk//Treezor certificates//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:certdesk certificates",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    ]
    stamp = _utc(now)
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamp}",
            # A moment, not a span: RFC 5545 lets a VEVENT have DTSTART alone.
            f"DTSTART:{_utc(event.start)}",
            f"SUMMARY:{ics_escape(event.summary)}",
            f"DESCRIPTION:{ics_escape(event.description)}",
            f"URL:{event.url}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(ics_fold(line) + "\r\n" for line in lines)
