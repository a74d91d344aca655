"""Middleware that leads a fresh installation to the page creating its first administrator."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# Paths that work before anyone can log in: the first-run page itself, the health probe used by
# docker compose and load balancers, and the static files the first-run page needs.
FIRST_RUN_OPEN_PATHS = ("/setup/", "/healthz")


class FirstRunMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not request.user.is_authenticated
            and not request.path.startswith(FIRST_RUN_OPEN_PATHS)
            and not request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))
            and not get_user_model().objects.exists()
        ):
            return HttpResponseRedirect(reverse("first_run"))
        return self.get_response(request)
