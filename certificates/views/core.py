"""First run, health probe, dashboard, login, password re-entry and the second-factor page."""

from __future__ import annotations

from typing import Any

from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model, login, logout
from django.contrib.auth.decorators import login_not_required
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from certificates import lockout, mfa_policy, selectors, services
from certificates.forms import FirstAdminForm
from certificates.permissions import is_administrator
from certificates.selectors.checklist import first_run_checklist
from certificates.selectors.dashboard import needs_attention
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
            login(request, user, backend="certificates.adapters.PasswordLoginBackend")
            return redirect("dashboard")
    return render(request, "certificates/first_run.html", {"form": form})


def dashboard(request: HttpRequest) -> HttpResponse:
    """Home page: administrators' first-run checklist until it is done; what needs attention;
    environments by purposes, each cell with its state and next action."""
    rows = selectors.dashboard_rows(request.user)
    # Issue 13: the sender of a TAM email that failed sees it here (and got an email).
    failed_emails = failed_emails_of(request.user)
    checklist = first_run_checklist() if is_administrator(request.user) else None
    attention = (
        needs_attention(
            request.user,
            environments=[row.environment for row in rows],
            own_failed_emails=len(failed_emails),
        )
        if rows
        else []
    )
    return render(
        request,
        "certificates/dashboard.html",
        {
            "rows": rows,
            "failed_emails": failed_emails,
            "checklist": checklist,
            "attention": attention,
            # Shown once the checklist is done, or at once when something is waiting.
            "show_attention": bool(attention)
            and (checklist is None or checklist.done or any(item.count for item in attention)),
        },
    )


def _attempts_left_text(request: HttpRequest, username: str) -> str:
    """What a failed login says of the lockout ahead (the account's and the address's counts)."""
    left = lockout.attempts_left(username=username, ip=access.client_ip(request))
    minutes = settings.CERTDESK_LOGIN_COOLOFF_MINUTES
    return (
        f"{left} attempt{'s' if left != 1 else ''} left before logins are refused for "
        f"{minutes} minutes."
    )


class LoginView(allauth_views.LoginView):
    """allauth's login page (a user name or an address), saying after a failure how many
    attempts are left before the lockout (django-axes counts them; certificates/lockout.py)."""

    def get_form(self, form_class: Any = None) -> Form:
        form: Form = super().get_form(form_class)  # type: ignore[no-untyped-call]
        form.fields["login"].label = "User name or email"
        return form

    def form_invalid(self, form: Form) -> HttpResponse:
        response: HttpResponse = super().form_invalid(form)
        typed = str(form.data.get("login", "")).strip()
        if typed and isinstance(response, TemplateResponse) and response.context_data is not None:
            response.context_data["attempts_left"] = _attempts_left_text(
                self.request, lockout.attempted_username(self.request)
            )
        return response


class ReauthenticateView(allauth_views.ReauthenticateView):
    """allauth's password check before a sensitive action (sudo mode), which then resumes the
    action. django-axes counts its wrong passwords like those at the login page; a session that
    reaches the lockout here is ended, since it is likely not its owner's."""

    def form_invalid(self, form: Form) -> HttpResponse:
        if getattr(self.request, "axes_locked_out", False):
            # AxesMiddleware answers with the lockout page.
            logout(self.request)
            return HttpResponse(status=429)
        if "password" in form.errors:
            form.errors["password"] = form.error_class(
                ["That is not your password. Type it again."]
            )
        response = super().form_invalid(form)
        if isinstance(response, TemplateResponse) and response.context_data is not None:
            response.context_data["attempts_left"] = _attempts_left_text(
                self.request, self.request.user.get_username()
            )
        return response


def second_factor_required(request: HttpRequest) -> HttpResponse:
    """Where the second-factor policy leads someone without one: what is asked, and the two
    ways to enrol; the way on (``next``) once they have one."""
    next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("dashboard")
    return render(
        request,
        "certificates/second_factor_required.html",
        {
            "required": mfa_policy.mfa_required_for(request.user),
            "enrolled": mfa_policy.has_second_factor(request.user),
            "policy": mfa_policy.policy(),
            "next": next_url,
        },
    )
