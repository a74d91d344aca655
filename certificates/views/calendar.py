"""The calendar page (any logged-in user) and the private iCalendar feed (no login: its token).

Routed in ``certificates/urls.py`` (``/calendar/`` and ``/calendar/<token>.ics``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from certificates.calendar_format import ALARM_DAYS_MAX, alarm_days, calendar_ics
from certificates.models import CalendarFeed
from certificates.selectors.calendar import calendar_events, calendar_feed_owner
from certificates.services.audit import Actor
from certificates.services.calendar import calendar_feed_replace

# The reminder the page offers ready-made in the second URL (any 0-30 works: ``?alarm=N``).
OFFERED_ALARM_DAYS = 7


@never_cache
@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    """Your feed URL: created (or replaced) by a POST, shown once, in that response only.

    Not a redirect after the POST: showing the URL later would mean keeping it in clear (in the
    session or the database), and certdesk keeps only its hash.
    """
    user = request.user
    if not isinstance(user, get_user_model()):  # the login middleware let only users in
        raise PermissionDenied("Log in to see your calendar feed.")
    feed_url = feed_url_alarm = ""
    if request.method == "POST":
        token = calendar_feed_replace(actor=Actor.from_request(request), user=user)
        feed_url = request.build_absolute_uri(reverse("calendar_feed", args=[token]))
        feed_url_alarm = f"{feed_url}?alarm={OFFERED_ALARM_DAYS}"
    feed = CalendarFeed.objects.filter(user=user).first()
    return render(
        request,
        "certificates/calendar.html",
        {
            "feed": feed,
            "feed_url": feed_url,
            "feed_url_alarm": feed_url_alarm,
            "alarm_days": OFFERED_ALARM_DAYS,
            "alarm_days_max": ALARM_DAYS_MAX,
        },
    )


@login_not_required  # the token in the URL is the credential: calendar clients cannot log in
@require_GET
@never_cache
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """``text/calendar`` for the token's user; 404 for an unknown, replaced or disabled one.

    ``?alarm=N`` (0-30) adds a reminder N days before each event; any other value is ignored.
    """
    user = calendar_feed_owner(token=token)
    if user is None:
        raise Http404("No such calendar.")
    now = timezone.now()
    body = calendar_ics(
        events=calendar_events(user=user, now=now),
        now=now,
        alarm=alarm_days(request.GET.get("alarm")),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="certdesk.ics"'
    return response
