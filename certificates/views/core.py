"""First run, health probe, dashboard, login and password re-entry."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from certificates import lockout, selectors, services
from certificates.forms import FirstAdminForm, ReauthenticateForm
from certificates.selectors.email_states import failed_emails_of
from certificates.views import access


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the cache (and a Redis broker) answer, 503 otherwise, within
    CERTDESK_HEALTH_TIMEOUT_SECONDS whatever is down or frozen; for probes."""
    report = selectors.health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@login_not_required
@never_cache
@sensitive_post_parameters("password1", "password2", "setup_code")
def first_run(request: HttpRequest) -> HttpResponse:
    """Create the first administrator, with the setup code from the server's log (issued and
    logged at the first visit); the page is gone (404) once any user exists."""
    if get_user_model().objects.exists():
        raise Http404("certdesk is set up already.")
    services.setup_code_announce(actor=services.Actor.from_request(request))
    form = FirstAdminForm(access.post_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            user = services.first_admin_create(
                ip=access.client_ip(request),
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                setup_code=form.cleaned_data["setup_code"],
            )
        except services.FirstRunClosedError:
            raise Http404("certdesk is set up already.") from None
        except services.ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("dashboard")
    return render(request, "certificates/first_run.html", {"form": form})


def dashboard(request: HttpRequest) -> HttpResponse:
    """Home page: environments by purposes, each cell with its state and next action."""
    rows = selectors.dashboard_rows(request.user)
    # Issue 13: the sender of a TAM email that failed sees it here (and got an email).
    failed_emails = failed_emails_of(request.user)
    return render(
        request, "certificates/dashboard.html", {"rows": rows, "failed_emails": failed_emails}
    )


def _attempts_left_text(request: HttpRequest, username: str) -> str:
    """What a failed login says of the lockout ahead (the account's and the address's counts)."""
    left = lockout.attempts_left(username=username, ip=access.client_ip(request))
    minutes = settings.CERTDESK_LOGIN_COOLOFF_MINUTES
    return (
        f"{left} attempt{'s' if left != 1 else ''} left before logins are refused for "
        f"{minutes} minutes."
    )


class LoginView(auth_views.LoginView):
    """Django's login page, saying after a failure how many attempts are left before the
    lockout (django-axes counts them; certificates/lockout.py)."""

    template_name = "certificates/login.html"

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        context: dict[str, Any] = {"form": form}
        username = str(form.data.get("username", "")).strip()
        if username:
            context["attempts_left"] = _attempts_left_text(self.request, username)
        return self.render_to_response(self.get_context_data(**context))


@never_cache
@sensitive_post_parameters("password")
def reauthenticate_view(request: HttpRequest) -> HttpResponse:
    """Ask for the password again before a private-key download (older than 5 minutes)."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("dashboard")
    form = ReauthenticateForm(access.post_data(request))
    if request.method == "POST" and form.is_valid():
        # Through authenticate(), not check_password(): django-axes counts every wrong password
        # here like one at /login/, so this page cannot be used to guess a user's password.
        user = authenticate(
            request,
            username=request.user.get_username(),
            password=form.cleaned_data["password"],
        )
        if user is not None and user.pk == request.user.pk:
            access.mark_authenticated_now(request)
            return redirect(next_url)
        if getattr(request, "axes_locked_out", False):
            # A session that keeps failing its own password is likely not its owner's: end it.
            # AxesMiddleware answers with the lockout page.
            logout(request)
        form.add_error(
            "password",
            "That is not your password. Type it again. "
            + _attempts_left_text(request, request.user.get_username()),
        )
    return render(request, "certificates/reauthenticate.html", {"form": form, "next": next_url})
