"""Everyone's own Profile page: name, phone, reminders, and links to the account pages (address,
password, second factors, sessions) that django-allauth serves."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from certificates import mfa_policy
from certificates.forms.profile import ProfileForm
from certificates.permissions import environments_for
from certificates.services.audit import Actor
from certificates.services.errors import ServiceError
from certificates.services.profile import profile_of, profile_update
from certificates.views import access


def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware
    current = profile_of(user)
    form = ProfileForm(
        access.post_data(request),
        initial={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": current.phone,
            "receives_reminders": current.receives_reminders,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(
                actor=Actor.from_request(request),
                user=user,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                phone=form.cleaned_data["phone"],
                receives_reminders=form.cleaned_data["receives_reminders"],
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("profile")
    roles = [
        (membership.environment.name, membership.get_role_display())
        for membership in user.memberships.select_related("environment").order_by(
            "environment__name"
        )
    ]
    return render(
        request,
        "certificates/profile/profile.html",
        {
            "form": form,
            "roles": roles,
            "administrator": user.is_superuser,
            "environment_count": environments_for(user).count(),
            "mfa_required": mfa_policy.mfa_required_for(user),
            "has_second_factor": mfa_policy.has_second_factor(user),
        },
    )
