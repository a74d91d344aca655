"""Personal API tokens (issue 17): each person's own page (Profile, API tokens: make, list,
revoke) and the administrators' list of everyone's (Settings, People, API tokens).

A new token's secret is shown once, in the answer to the form, never stored (only its SHA-256)
nor put in the session; a token with the ``custody`` scope asks for the password again first
(sudo mode), as a private-key download does.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from certificates.forms.tokens import ApiTokenForm
from certificates.models import ApiToken
from certificates.permissions import environments_for
from certificates.selectors.api_tokens import token_rows, tokens_of
from certificates.services.api_tokens import (
    MAX_LIFETIME_DAYS,
    api_token_create,
    api_token_revoke,
    latest_expiry,
)
from certificates.services.audit import Actor
from certificates.services.errors import ServiceError
from certificates.views import access, sudo
from certificates.views.access import superuser_required


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware
    return user


@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    """Your tokens, and the form that makes one. The answer to a made token shows its secret
    once (never cached); a token with custody needs a password typed in the last minutes."""
    user = _person(request)
    environments = list(environments_for(user))
    form = ApiTokenForm(access.post_data(request), environments=environments)
    if request.method == "POST" and form.is_valid():
        if ApiToken.Scope.CUSTODY in form.cleaned_data["scopes"]:
            detour = sudo.gate(
                request,
                back_to=reverse("api_tokens"),
                what="make an API token that can export private keys",
            )
            if detour is not None:
                return detour
        chosen = {environment.slug: environment for environment in environments}
        try:
            new = api_token_create(
                actor=Actor.from_request(request),
                user=user,
                name=form.cleaned_data["name"],
                environments=[chosen[slug] for slug in form.cleaned_data["environments"]],
                scopes=form.cleaned_data["scopes"],
                expires_on=form.cleaned_data["expires_on"],
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            return render(
                request,
                "certificates/profile/tokens_created.html",
                {
                    "new": new,
                    "row": token_rows(tokens_of(user).filter(pk=new.token.pk))[0],
                    "api_url": settings.CERTDESK_SITE_URL + "/api/v1/",
                },
            )
    return render(
        request,
        "certificates/profile/tokens.html",
        {
            "form": form,
            "rows": token_rows(tokens_of(user)),
            "has_environments": bool(environments),
            "max_days": MAX_LIFETIME_DAYS,
            "latest_expiry": latest_expiry(),
        },
    )


def _revoke(request: HttpRequest, token: ApiToken) -> None:
    try:
        api_token_revoke(actor=Actor.from_request(request), token=token)
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(
            request,
            f"The token “{token.name}” of {token.user.get_username()} is revoked: it stops "
            "working now.",
        )


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of your tokens (someone else's is 404 here: administrators use People)."""
    token = ApiToken.objects.select_related("user").filter(pk=pk, user=_person(request)).first()
    if token is None:
        raise Http404("No such token.")
    _revoke(request, token)
    return redirect("api_tokens")


@superuser_required
def all_tokens(request: HttpRequest) -> HttpResponse:
    """Every person's API tokens, for administrators to see and revoke."""
    return render(
        request,
        "certificates/settings/tokens.html",
        {"rows": token_rows(ApiToken.objects.order_by("user__username", "name"))},
    )


@superuser_required
@require_POST
def any_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.select_related("user").filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    _revoke(request, token)
    return redirect("settings_api_tokens")
