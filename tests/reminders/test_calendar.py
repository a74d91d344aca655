"""The private iCalendar feed: a secret URL per user, revocable, with the user's certificates
as all-day events (written by the `icalendar` library, issue 16), with an optional alarm."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, CalendarFeed, Environment, Membership
from certificates.selectors.calendar import token_sha256
from tests.support.reminders import DAY, NOW, make_certificate

pytestmark = pytest.mark.django_db

FEED_URL = re.compile(r'value="http://testserver(/calendar/[A-Za-z0-9_-]+\.ics)"')


def _create_feed(client: Client) -> str:
    """POST "Create my feed URL" and return the feed's path, read from the page."""
    page = client.post("/calendar/", {"action": "create"}).content.decode()
    match = FEED_URL.search(page)
    assert match is not None, page
    return match.group(1)


def _unfold(body: str) -> list[str]:
    return body.replace("\r\n ", "").split("\r\n")


@pytest.fixture
def viewer(sandbox: Environment) -> tuple[User, Client]:
    user = User.objects.create_user("vera", "vera@acme.example")
    Membership.objects.create(user=user, environment=sandbox, role="viewer")
    client = Client()
    client.force_login(user)
    return user, client


def test_the_page_creates_a_feed_url_shown_once_and_stores_only_its_hash(
    viewer: tuple[User, Client],
) -> None:
    """First visit offers to create; the POST shows the URL; later visits cannot show it again,
    because only the SHA-256 of its token is stored."""
    user, client = viewer
    assert "Create my feed URL" in client.get("/calendar/").content.decode()
    path = _create_feed(client)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    feed = CalendarFeed.objects.get(user=user)
    assert feed.token_sha256 == token_sha256(token) != token
    later = client.get("/calendar/").content.decode()
    assert token not in later
    assert "Replace the URL" in later
    assert AuditEvent.objects.filter(action="calendar.feed_created").count() == 1


def test_the_feed_lists_two_events_per_certificate_with_stable_uids(
    viewer: tuple[User, Client], sandbox: Environment
) -> None:
    """Without logging in, the feed is text/calendar with "Renewal window opens" 30 days before
    notAfter and "Expires" on notAfter's day, as all-day events (issue 16), stable UIDs,
    DTSTAMP, CRLF and 75-octet lines."""
    _, client = viewer
    certificate = make_certificate(sandbox, not_after=NOW + 90 * DAY)
    path = _create_feed(client)
    with time_machine.travel(NOW, tick=False):
        response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    lines = _unfold(body)
    assert lines.count("BEGIN:VEVENT") == 2
    pk = certificate.pk
    assert f"UID:cert-{pk}-renewal@certdesk" in lines
    assert f"UID:cert-{pk}-expiry@certdesk" in lines
    assert "SUMMARY:Renewal window opens: Sandbox mTLS acme.com" in lines
    assert "SUMMARY:Expires: Sandbox mTLS acme.com" in lines
    assert "DTSTART;VALUE=DATE:20300530" in lines  # NOW + 90 days
    assert "DTEND;VALUE=DATE:20300531" in lines  # one whole day
    assert "DTSTART;VALUE=DATE:20300430" in lines  # 30 days before
    assert not any(line.startswith("DTSTART:") for line in lines)  # no hour invented
    assert lines.count("DTSTAMP:20300301T120000Z") == 2
    assert "BEGIN:VALARM" not in lines  # no alarm unless asked for


def test_text_is_escaped_and_long_lines_folded_between_characters(
    viewer: tuple[User, Client], sandbox: Environment
) -> None:
    """Commas, semicolons, backslashes and newlines are escaped (RFC 5545 §3.3.11); a long line
    of multi-byte characters folds at 75 octets without splitting a character (§3.1)."""
    _, client = viewer
    sandbox.name = "Bêta; EU, pré-prod \\ ünïcödé ωμέγα ελληνικά 日本語の環境名です"
    sandbox.save()
    make_certificate(sandbox, not_after=NOW + 90 * DAY)
    body = Client().get(_create_feed(client)).content
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # each physical line is whole UTF-8: no character was cut
    assert (
        "SUMMARY:Expires: Bêta\\; EU\\, pré-prod \\\\ ünïcödé ωμέγα ελληνικά 日本語の環境名です "
        "mTLS acme.com"
    ) in _unfold(body.decode("utf-8"))


def test_another_environments_certificates_never_appear(
    viewer: tuple[User, Client], sandbox: Environment, production: Environment
) -> None:
    """A Sandbox viewer's feed holds Sandbox certificates only; an administrator's holds all."""
    _, client = viewer
    mine = make_certificate(sandbox, not_after=NOW + 90 * DAY)
    theirs = make_certificate(production, not_after=NOW + 90 * DAY, common_name="secret.acme.com")
    body = Client().get(_create_feed(client)).content.decode()
    assert f"cert-{mine.pk}-expiry" in body
    assert f"cert-{theirs.pk}-" not in body
    assert "secret.acme.com" not in body
    assert "Production" not in body

    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@acme.example", "x" * 12))
    assert f"cert-{theirs.pk}-expiry" in Client().get(_create_feed(admin)).content.decode()


def test_replacing_the_url_revokes_the_old_one(viewer: tuple[User, Client]) -> None:
    """After "Replace the URL" the old feed URL is 404 and the new one works."""
    _, client = viewer
    old = _create_feed(client)
    new = _create_feed(client)
    assert old != new
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    assert AuditEvent.objects.filter(action="calendar.feed_replaced").count() == 1


def test_unknown_tokens_and_disabled_users_get_404(
    viewer: tuple[User, Client], client: Client
) -> None:
    """A made-up token is 404; so is the feed of a user who was deactivated."""
    user, logged_in = viewer
    path = _create_feed(logged_in)
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    user.is_active = False
    user.save()
    assert client.get(path).status_code == 404


def test_the_calendar_page_needs_a_login(
    client: Client, make_member: Callable[[str, Environment], User], sandbox: Environment
) -> None:
    """Anonymous visitors of /calendar/ go to the login page; the feed alone needs none."""
    make_member("viewer", sandbox)
    response = client.get("/calendar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
