"""The calendar feed of issue 16: written by the `icalendar` library, all-day events, and an
optional reminder (``?alarm=N``, N days before, 0-30; anything else ignored, never a 500); the
Calendar page explains it and offers the URL with and without; the feed's guarantees hold with
the parameter too (404 for an unknown token or a deactivated user, the token masked in logs)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from icalendar import Calendar

from certificates.calendar_format import alarm_days
from certificates.models import Environment, Membership, Revocation
from config.accesslog import MaskCalendarTokens, mask_calendar_tokens
from tests.support.reminders import DAY, NOW, make_certificate

pytestmark = pytest.mark.django_db

FEED_URLS = re.compile(r'value="http://testserver(/calendar/[A-Za-z0-9_-]+\.ics(?:\?alarm=\d+)?)"')


@pytest.fixture
def viewer(sandbox: Environment) -> tuple[User, Client]:
    user = User.objects.create_user("vera", "vera@acme.example")
    Membership.objects.create(user=user, environment=sandbox, role="viewer")
    client = Client()
    client.force_login(user)
    return user, client


def _feed_urls(client: Client) -> list[str]:
    """POST "Create my feed URL": the paths the page offers, in its order."""
    page = client.post("/calendar/", {"action": "create"}).content.decode()
    return FEED_URLS.findall(page)


def _feed(path: str) -> Calendar:
    with time_machine.travel(NOW, tick=False):
        response = Client().get(path)
    assert response.status_code == 200, path
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


@pytest.fixture
def feed(viewer: tuple[User, Client], sandbox: Environment) -> str:
    """The plain feed path of a viewer whose Sandbox has one certificate in service."""
    make_certificate(sandbox, not_after=NOW + 90 * DAY)
    plain, _ = _feed_urls(viewer[1])
    return plain


def test_the_page_offers_the_url_with_and_without_a_reminder(
    viewer: tuple[User, Client], sandbox: Environment
) -> None:
    """After "Create my feed URL": the plain URL, then the same with ?alarm=7; both answer.
    The page explains ?alarm=N before and after."""
    _, client = viewer
    explained = " ".join(client.get("/calendar/").content.decode().split())
    assert "add <code>?alarm=N</code>" in explained
    assert "from 0 to 30" in explained
    plain, with_alarm = _feed_urls(client)
    assert with_alarm == f"{plain}?alarm=7"
    page = client.get("/calendar/").content.decode()
    assert plain not in page  # shown once: only its fingerprint is kept
    make_certificate(sandbox, not_after=NOW + 90 * DAY)
    assert not list(_feed(plain).walk("VALARM"))
    assert len(list(_feed(with_alarm).walk("VALARM"))) == 2


def test_events_are_all_day_and_the_document_is_valid_icalendar(feed: str) -> None:
    """The library parses what it wrote: dates, not moments; DTEND the next day."""
    calendar = _feed(feed)
    assert calendar["PRODID"] == "-//certdesk//Treezor certificates//EN"
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 2
    for event in events:
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert type(start) is date
        assert end - start == timedelta(days=1)
    assert {event.decoded("DTSTART") for event in events} == {
        (NOW + 60 * DAY).date(),
        (NOW + 90 * DAY).date(),
    }


@pytest.mark.parametrize(
    ("alarm", "trigger"),
    [
        ("7", timedelta(days=-7, hours=9)),  # 9:00, seven days before
        ("0", timedelta(hours=9)),  # 9:00 on the day
        ("30", timedelta(days=-30, hours=9)),
        ("07", timedelta(days=-7, hours=9)),
    ],
)
def test_alarm_adds_a_display_reminder_n_days_before(
    feed: str, alarm: str, trigger: timedelta
) -> None:
    """?alarm=N: one VALARM per event, ACTION:DISPLAY, at 9:00 N days before its day."""
    events = list(_feed(f"{feed}?alarm={alarm}").walk("VEVENT"))
    assert len(events) == 2
    for event in events:
        (reminder,) = event.walk("VALARM")
        assert reminder["ACTION"] == "DISPLAY"
        assert reminder.decoded("TRIGGER") == trigger
        assert str(event["SUMMARY"]) in str(reminder["DESCRIPTION"])


@pytest.mark.parametrize(
    "alarm",
    ["31", "-1", "abc", "", "7.5", "1e1", "٣", "007", "9" * 400, "7 ", "+7", "0x7", "%00"],
)
def test_any_other_alarm_is_ignored_never_an_error(feed: str, alarm: str) -> None:
    """Outside 0-30, or not plain digits: the feed as without it (200, no VALARM)."""
    calendar = _feed(f"{feed}?alarm={alarm}")
    assert len(list(calendar.walk("VEVENT"))) == 2
    assert not list(calendar.walk("VALARM"))


def test_alarm_days_parses_only_plain_numbers_from_0_to_30() -> None:
    assert [alarm_days(v) for v in ("0", "1", "30", "07")] == [0, 1, 30, 7]
    assert [alarm_days(v) for v in (None, "", "31", "-0", "²", "3\n")] == [None] * 6


def test_only_certificates_in_service_are_in_the_feed(
    viewer: tuple[User, Client], sandbox: Environment
) -> None:
    """A replaced certificate and one being revoked have no events, with an alarm or not."""
    replaced = make_certificate(sandbox, not_after=NOW + 40 * DAY)
    current = make_certificate(sandbox, not_after=NOW + 300 * DAY)
    revoking = make_certificate(sandbox, not_after=NOW + 90 * DAY, purpose="signature")
    Revocation.objects.create(certificate=revoking, reason=Revocation.Reason.SUPERSEDED)
    plain, with_alarm = _feed_urls(viewer[1])
    for path in (plain, with_alarm):
        uids = {str(event["UID"]) for event in _feed(path).walk("VEVENT")}
        assert uids == {
            f"cert-{current.pk}-renewal@certdesk",
            f"cert-{current.pk}-expiry@certdesk",
        }
    assert replaced.pk != current.pk


def test_unknown_tokens_and_deactivated_users_are_404_with_an_alarm_too(
    viewer: tuple[User, Client], feed: str
) -> None:
    user, _ = viewer
    assert Client().get("/calendar/not-a-real-token.ics?alarm=7").status_code == 404
    assert Client().get(f"{feed}?alarm=7").status_code == 200
    user.is_active = False
    user.save()
    assert Client().get(f"{feed}?alarm=7").status_code == 404


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the project's console handler writes (see tests/security/test_calendar_logs.py)."""
    [handler] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, MaskCalendarTokens) for f in handler.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_the_token_is_masked_in_logs_with_the_alarm_parameter(
    console: io.StringIO, admin_user: User
) -> None:
    """The query string does not stop the mask: /calendar/[token]?alarm=7."""
    token = "s3cr3t-Token_abcdefghijklmnopqrstuvwxyz0123"
    line = mask_calendar_tokens(f'"GET /calendar/{token}.ics?alarm=7 HTTP/1.1" 200 512')
    assert line == '"GET /calendar/[token]?alarm=7 HTTP/1.1" 200 512'
    assert Client().get(f"/calendar/{token}.ics?alarm=7").status_code == 404
    assert token not in console.getvalue()


def test_the_feed_is_the_same_document_whenever_it_is_fetched(feed: str) -> None:
    """Stable calendar and event UIDs: a client updates rather than duplicates."""
    first = _feed(feed)
    with time_machine.travel(NOW + DAY, tick=False):
        again = Calendar.from_ical(Client().get(feed).content)
    assert first["UID"] == again["UID"]
    assert [str(e["UID"]) for e in first.walk("VEVENT")] == [
        str(e["UID"]) for e in again.walk("VEVENT")
    ]
    assert isinstance(first.walk("VEVENT")[0].decoded("DTSTAMP"), datetime)
