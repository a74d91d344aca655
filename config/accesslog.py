"""Keep the calendar feed's token and the invitation links' tokens out of every log line certdesk
writes.

The feed URL ``/calendar/<token>.ics`` is its own credential (calendar clients cannot log in), so
a line with it would let anyone who reads the logs subscribe to the owner's calendar; an
invitation link ``/invitations/<token>/`` would let them choose the invited person's password.
Masked here (the names say "calendar" for history; they mask both):

- Django's lines (runserver's ``django.server`` access lines, ``django.request``'s "Not Found:
  /calendar/..."): ``MaskCalendarTokens`` is on every handler of ``LOGGING`` (config/settings.py);
- gunicorn's access log: ``config.gunicorn_conf.GunicornLogger`` masks every field of the line
  (the request line, the path, the referrer, headers) with ``mask_calendar_tokens``.

Everything after ``/calendar/`` or ``/invitations/`` up to a space, quote, ``?`` or ``/`` is
replaced, whatever its spelling (percent-encoded characters included), so an unknown, replaced or
used token is masked too.
No Django or gunicorn import: gunicorn loads this before Django is set up, and every other
process (worker, beat, manage.py) loads it through LOGGING.
"""

from __future__ import annotations

import logging
import re

CALENDAR_TOKEN = re.compile(r"(/calendar/)[^\s\"'?/]+")
INVITATION_TOKEN = re.compile(r"(/invitations/)[^\s\"'?/]+")
MASK = r"\1[token]"


def mask_calendar_tokens(text: str) -> str:
    """``text`` with every calendar feed token and invitation token replaced by ``[token]``."""
    return INVITATION_TOKEN.sub(MASK, CALENDAR_TOKEN.sub(MASK, text))


class MaskCalendarTokens(logging.Filter):
    """A logging filter that rewrites a record whose message holds a calendar or invitation
    token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as usual
            return True
        masked = mask_calendar_tokens(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
