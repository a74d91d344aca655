"""The calendar feed's token (its credential) is masked in every log line certdesk writes:
Django's handlers (runserver's access lines, "Not Found" warnings) and gunicorn's access log
(issue 12, point 13); so is an invitation link's token (issue 15)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from gunicorn.config import Config  # type: ignore[import-untyped]

from config.accesslog import MaskCalendarTokens, mask_calendar_tokens
from config.gunicorn_conf import GunicornLogger

TOKEN = "s3cr3t-Token_abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the project's console handler (the one every process logs to) writes."""
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


def test_every_handler_masks_the_token() -> None:
    """Each handler of LOGGING carries the filter, so no configured output escapes it."""
    handlers: dict[str, dict[str, list[str]]] = settings.LOGGING["handlers"]  # type: ignore[assignment]
    for name, handler in handlers.items():
        assert "mask_calendar_tokens" in handler["filters"], name


def test_runservers_access_line_is_masked(console: io.StringIO) -> None:
    """A django.server line (runserver's access log) shows /calendar/[token]."""
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"GET /calendar/{TOKEN}.ics HTTP/1.1", "200", "512"
    )
    line = console.getvalue()
    assert '"GET /calendar/[token] HTTP/1.1" 200 512' in line
    assert TOKEN not in line


def test_a_not_found_warning_for_a_bad_token_is_masked(
    console: io.StringIO, admin_user: User
) -> None:
    """An unknown token is 404, and Django's "Not Found" warning for it is masked too (a
    replaced token, or one mistyped by a single character, is still worth hiding)."""
    assert Client().get(f"/calendar/{TOKEN}.ics").status_code == 404
    assert TOKEN not in console.getvalue()
    assert "Not Found: /calendar/[token]" in console.getvalue()


@pytest.mark.parametrize(
    "path",
    [f"/calendar/{TOKEN}.ics", f"/calendar/{TOKEN[:6]}%2D{TOKEN[7:]}.ics?x=1"],
)
def test_gunicorns_access_line_is_masked(path: str) -> None:
    """Every field of gunicorn's access line (request line, path, referrer) is masked, the
    percent-encoded spelling of a token included."""
    logger = GunicornLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://certdesk.example{path}",
        "REMOTE_ADDR": "198.51.100.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", f"https://certdesk.example{path}")])
    atoms = logger.atoms(response, request, environ, timedelta(seconds=0))
    line = str(atoms)
    assert TOKEN[7:] not in line
    assert atoms["r"].startswith("GET /calendar/[token]")


def test_the_calendar_page_itself_is_left_alone() -> None:
    """/calendar/ (the page, no token) is not rewritten."""
    assert mask_calendar_tokens('"GET /calendar/ HTTP/1.1" 200') == '"GET /calendar/ HTTP/1.1" 200'


# --- invitation links (issue 15) -------------------------------------------------------------


def test_an_invitation_link_in_an_access_line_is_masked(console: io.StringIO) -> None:
    """A runserver line of an invitation page shows /invitations/[token]/."""
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"POST /invitations/{TOKEN}/ HTTP/1.1", "302", "0"
    )
    line = console.getvalue()
    assert '"POST /invitations/[token]/ HTTP/1.1" 302 0' in line
    assert TOKEN not in line


def test_a_not_found_warning_for_a_bad_invitation_is_masked(
    console: io.StringIO, admin_user: User
) -> None:
    """An unknown invitation token is a 404 page, and its "Not Found" warning is masked."""
    assert Client().get(f"/invitations/{TOKEN}/").status_code == 404
    assert TOKEN not in console.getvalue()
    assert "Not Found: /invitations/[token]/" in console.getvalue()


def test_gunicorns_access_line_masks_an_invitation_link() -> None:
    """The request line and the referrer of gunicorn's access line (a page loaded from the
    invitation page would carry it) are masked."""
    path = f"/invitations/{TOKEN}/"
    logger = GunicornLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://certdesk.example{path}",
        "REMOTE_ADDR": "198.51.100.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", f"https://certdesk.example{path}")])
    atoms = logger.atoms(response, request, environ, timedelta(seconds=0))
    assert TOKEN not in str(atoms)
    assert atoms["r"].startswith("GET /invitations/[token]/")
    assert atoms["f"] == "https://certdesk.example/invitations/[token]/"


def test_the_invitations_prefix_alone_is_left_alone() -> None:
    assert mask_calendar_tokens("GET /invitations/ HTTP/1.1") == "GET /invitations/ HTTP/1.1"
