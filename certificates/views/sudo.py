"""Sudo mode: a sensitive action (a private-key download, a key's destruction, a role change)
asks for the password or the second factor again when the last authentication is older than
five minutes, then resumes the action where it stopped.

allauth stashes the POST in the session and replays it after the reauthentication
(``suspend_request`` / ``resume_request``). A PKCS#12 passphrase must not lie in the session
table in clear meanwhile: before the stash it is encrypted with a fresh key that only the
browser holds, in a short-lived cookie (SameSite=Strict, HttpOnly), so neither a database
reader nor the cookie alone can read it; the resumed download decrypts it and drops the cookie.

Someone under the second-factor policy (CERTDESK_MFA_REQUIRED) without one is refused these
actions until they enrol.
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.reauthentication import suspend_request
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.debug import sensitive_variables

from certificates import mfa_policy
from certificates.services.errors import ServiceError
from certificates.views import access

SUDO_COOKIE = "certdesk_sudo"
# Fields whose value never waits in the session in clear.
SEALED_FIELDS = ("passphrase",)
SEALED_PREFIX = "sealed-"
# How long a stashed action may wait for the reauthentication.
SEALED_SECONDS = 10 * 60


def gate(request: HttpRequest, *, back_to: str, what: str) -> HttpResponse | None:
    """None when the person may go on with the sensitive action ``what`` now; otherwise the
    response that leads them where they must go first (enrolment, or the reauthentication
    that then resumes this very request)."""
    if mfa_policy.needs_enrolment(request.user):
        messages.error(
            request,
            f"Your role needs a second factor before you can {what}: set one up first "
            "(an authenticator app or a passkey).",
        )
        return HttpResponseRedirect(
            reverse("second_factor_required") + "?" + urlencode({REDIRECT_FIELD_NAME: back_to})
        )
    if access.authenticated_recently(request):
        return None
    return _suspend(request, back_to=back_to, what=what)


@sensitive_variables("post", "value", "key")
def _suspend(request: HttpRequest, *, back_to: str, what: str) -> HttpResponse:
    methods = get_adapter(request).get_reauthentication_methods(request.user)
    if not methods:
        # Signed in by SSO, with no password and no second factor: a fresh sign-in is the proof.
        messages.error(
            request,
            f"To {what}, confirm it is you: sign out and sign in again, then retry within "
            "five minutes.",
        )
        return HttpResponseRedirect(back_to)
    if request.method != "POST":
        return HttpResponseRedirect(
            methods[0]["url"] + "?" + urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
        )
    key = Fernet.generate_key()
    post = request.POST.copy()
    for field in SEALED_FIELDS:
        value = post.pop(field, [])
        if value and value[0]:
            post[SEALED_PREFIX + field] = Fernet(key).encrypt(value[0].encode("utf-8")).decode()
    request.POST = post  # type: ignore[assignment]  # the stash serialises this copy
    response = suspend_request(request, methods[0]["url"])
    response.set_cookie(
        SUDO_COOKIE,
        key.decode("ascii"),
        max_age=SEALED_SECONDS,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Strict",
    )
    return response


@sensitive_variables("key", "sealed")
def posted(request: HttpRequest, field: str) -> str | None:
    """The value of ``field`` as typed: from the form, or sealed across a reauthentication."""
    if field in request.POST:
        return request.POST[field]
    sealed = request.POST.get(SEALED_PREFIX + field)
    if sealed is None:
        return None
    key = request.COOKIES.get(SUDO_COOKIE, "")
    try:
        return (
            Fernet(key.encode("ascii")).decrypt(sealed.encode("ascii"), ttl=SEALED_SECONDS).decode()
        )
    except (InvalidToken, ValueError, UnicodeError):
        raise ServiceError(
            "The passphrase typed before the password check could not be recovered (it waits "
            "ten minutes at most, in this browser only): type it again."
        ) from None


def finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Drop the sealing key once the resumed action has answered."""
    if SUDO_COOKIE in request.COOKIES:
        response.delete_cookie(SUDO_COOKIE, samesite="Strict")
    return response
