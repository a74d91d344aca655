"""The iCalendar document (RFC 5545) of the private feed, written with the `icalendar` library:
pure, no Django.

The library does the format (text escaping, CRLF line endings, folding at 75 octets without
cutting a character); this module says what the feed holds: all-day events (a certificate's
day matters, not its hour: the exact notAfter is in the description) and, when asked, a
reminder some days before each. Which events the feed holds is a read:
certificates/selectors/calendar.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vDuration
from icalendar.enums import TRANSP

PRODID = "-//certdesk//Treezor certificates//EN"
NAME = "certdesk certificates"
# Calendar clients poll the feed; once an hour is plenty for dates a month apart.
REFRESH = timedelta(hours=1)
# ``?alarm=N``: a reminder N days before each event, N from 0 (the day itself) to 30.
ALARM_DAYS_MAX = 30
# An all-day event starts at midnight; its reminder rings at 9:00, the N days before.
ALARM_HOUR = 9


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    day: date
    summary: str
    description: str
    url: str


def alarm_days(value: str | None) -> int | None:
    """The ``alarm`` query parameter as a number of days, or None: absent, not a whole number
    of days written in digits, or outside 0-30 (a bad value is ignored, never an error: a
    calendar client shows no error page)."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 2:
        return None
    days = int(value)
    return days if 0 <= days <= ALARM_DAYS_MAX else None


def _alarm(event: CalendarEvent, days: int) -> Alarm:
    when = "on the day" if days == 0 else f"in {days} day{'' if days == 1 else 's'}"
    # Relative to the event's start, midnight of its day: -N days, +9 hours.
    trigger = timedelta(days=-days, hours=ALARM_HOUR)
    return Alarm.new_display(description=f"{event.summary} ({when})", trigger=trigger)


def calendar_ics(*, events: list[CalendarEvent], now: datetime, alarm: int | None = None) -> bytes:
    """The VCALENDAR document, UTF-8: one all-day VEVENT per event (``DTSTART;VALUE=DATE``,
    ``DTEND`` the next day), each with a display VALARM ``alarm`` days before when given."""
    calendar = Calendar.new(
        prodid=PRODID,
        calscale="GREGORIAN",
        method="PUBLISH",
        name=NAME,
        # A stable UID: a client that sees the feed again knows it is the same calendar.
        uid="calendar@certdesk",
    )
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH))  # an X- property: typed by hand
    stamp = now.astimezone(UTC)
    for item in events:
        event = Event.new(
            uid=item.uid,
            stamp=stamp,
            start=item.day,
            end=item.day + timedelta(days=1),
            summary=item.summary,
            description=item.description,
            url=item.url,
            transparency=TRANSP.TRANSPARENT,  # a date to know, not time taken
        )
        if alarm is not None:
            event.add_component(_alarm(item, alarm))
        calendar.add_component(event)
    document: bytes = calendar.to_ical()
    return document
