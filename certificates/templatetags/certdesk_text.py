"""Text as people read it (issue 16): subjects in UTF-8, dates in words, "just now".

``{% load certdesk_text %}``, then:

- ``{{ subject|human_subject }}``: a subject line with its letters in UTF-8 ("Île-de-France"),
  whether it was stored in OpenSSL's escaped form (``\\C3\\8E``) or already readable;
- ``{{ moment|relative }}``: "in 3 months", "2 days ago", "just now";
- ``{{ moment|ago }}``: "5 minutes ago", "just now" (for what has happened);
- ``{{ moment|human_date }}``: "1 March 2027", in certdesk's time zone;
- ``{{ moment|openssl_date }}``: ``Mar  1 12:00:00 2027 GMT``, as ``openssl x509 -dates``
  prints it;
- ``{{ field|marked_optional }}``: whether a form field's label says "(optional)".
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django import forms, template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.timesince import timesince, timeuntil

from certificates import crypto

register = template.Library()

# Under a minute is "just now": "0 minutes ago" says the same thing, badly.
JUST_NOW = timedelta(minutes=1)


@register.filter
def human_subject(value: Any) -> str:
    """The subject line with its letters in UTF-8 (crypto.human_subject)."""
    return crypto.human_subject(str(value)) if value else ""


def relative_time(moment: datetime, now: datetime) -> str:
    """ "in 3 months", "2 days ago", "just now": the largest unit only, as people say it."""
    if abs(moment - now) < JUST_NOW:
        return "just now"
    if moment > now:
        return f"in {timeuntil(moment, now, depth=1)}"
    return f"{timesince(moment, now, depth=1)} ago"


@register.filter
def relative(value: Any) -> str:
    """``relative_time`` from now; "" for anything that is not a moment."""
    if not isinstance(value, datetime):
        return ""
    return relative_time(value, timezone.now())


@register.filter
def ago(value: Any) -> str:
    """How long ago something happened: "just now", "5 minutes ago", "2 hours, 3 minutes ago".

    A moment a little in the future (clocks of two machines) is "just now", never "in 2
    minutes": this filter is for what has already happened.
    """
    if not isinstance(value, datetime):
        return ""
    now = timezone.now()
    if now - value < JUST_NOW:
        return "just now"
    return f"{timesince(value, now)} ago"


@register.filter
def human_date(value: Any) -> str:
    """ "1 March 2027": the day in certdesk's time zone, the month in words."""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    if not isinstance(value, date):
        return ""
    return format_date(value, "j F Y")


@register.filter
def openssl_date(value: Any) -> str:
    """``Mar  1 12:00:00 2027 GMT``: the form `openssl x509 -dates` prints."""
    return crypto.openssl_date(value) if isinstance(value, datetime) else ""


@register.filter
def marked_optional(bound_field: Any) -> bool:
    """Whether the label says "(optional)": a field the form does not require, unless

    - it is a checkbox (ticking it or not is the answer, there is nothing to leave out), or
    - the form lists it in ``expected_fields``: saved empty, but the page asks for it (an
      environment's TAM address: without it nothing can be emailed).
    """
    if not isinstance(bound_field, forms.BoundField):
        return False
    field = bound_field.field
    if field.required:
        return False
    if getattr(field.widget, "input_type", None) == "checkbox":
        return False
    expected = getattr(bound_field.form, "expected_fields", ())
    return bound_field.name not in expected
