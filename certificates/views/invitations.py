"""The invitation page: an invited person chooses their password through the emailed link.

Routed in ``certificates/urls.py`` as ``/invitations/<token>/``. No login (the token is the
credential, used once); the token never reaches a log line (config/accesslog.py masks it) nor
another site (the page loads nothing from elsewhere, and the Referrer-Policy is same-origin).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from certificates import mfa_policy
from certificates.forms.invitations import InvitationAcceptForm
from certificates.models import Invitation, Membership
from certificates.selectors.people import invitation_by_token, invitation_problem, roles_text
from certificates.services import InvitationLinkError, ServiceError, invitation_accept
from certificates.views import access


def _refused(request: HttpRequest, problem: str) -> HttpResponse:
    # 404: the link leads nowhere; the page says why, and nothing about the account.
    return render(request, "certificates/invitation_invalid.html", {"problem": problem}, status=404)


def _page(request: HttpRequest, invitation: Invitation, form: InvitationAcceptForm) -> HttpResponse:
    user = invitation.user
    inviter = invitation.created_by
    memberships = Membership.objects.filter(user=user).select_related("environment")
    return render(
        request,
        "certificates/invitation_accept.html",
        {
            "form": form,
            "invitation": invitation,
            "username": user.get_username(),
            "inviter": (inviter.get_full_name() or inviter.get_username())
            if inviter is not None
            else "A certdesk administrator",
            "roles": roles_text(user, memberships),
        },
    )


@login_not_required
@never_cache
@sensitive_post_parameters("password1", "password2")
@sensitive_variables("token")
@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """GET: who invited you, your roles and address, and the form; POST: your password set,
    you are logged in, and led to enrol a second factor if the policy asks you for one."""
    invitation = invitation_by_token(token)
    problem = invitation_problem(invitation)
    if invitation is None or problem is not None:
        return _refused(request, problem or "This invitation link is not valid.")
    form = InvitationAcceptForm(
        access.post_data(request),
        initial={"first_name": invitation.user.first_name, "last_name": invitation.user.last_name},
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                ip=access.client_ip(request),
            )
        except InvitationLinkError as error:
            return _refused(request, error.message)
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            if not (settings.CERTDESK_PASSWORD_LOGIN or user.is_superuser):
                # This certdesk signs people in through SSO only: the password is kept for the
                # day password login is allowed again, but opens nothing now.
                messages.success(
                    request,
                    "Your account is ready. This certdesk signs you in through single sign-on: "
                    "use its button below.",
                )
                return redirect("login")
            login(request, user, backend="certificates.adapters.PasswordLoginBackend")
            messages.success(request, "Welcome to certdesk: your password is set.")
            if mfa_policy.needs_enrolment(user):
                return redirect("second_factor_required")
            return redirect("dashboard")
    return _page(request, invitation, form)
