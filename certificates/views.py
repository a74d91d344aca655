"""Views stay thin: check access, call a form and a service or selector, render."""

from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from certificates import selectors, services
from certificates.forms import FirstAdminForm


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database (and a Redis broker) answer, 503 otherwise; for probes."""
    report = selectors.health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@login_not_required
@never_cache
@sensitive_post_parameters("password1", "password2")
def first_run(request: HttpRequest) -> HttpResponse:
    """Create the first administrator; the page is gone (404) once any user exists."""
    if get_user_model().objects.exists():
        raise Http404("certdesk is set up already.")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.first_admin_create(
                ip=request.META.get("REMOTE_ADDR"),
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except services.FirstRunClosedError:
            raise Http404("certdesk is set up already.") from None
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("dashboard")
    return render(request, "certificates/first_run.html", {"form": form})


def dashboard(request: HttpRequest) -> HttpResponse:
    """Home page after login."""
    return render(request, "certificates/dashboard.html", {})
