"""Signal receivers, connected by ``CertificatesConfig.ready`` (importing this module connects
them). A receiver records what happened; the rules that read it live where they are used
(``views.access`` for a recent login, ``middleware`` for the session's absolute lifetime).
The refusal to delete a user is in ``certificates/accounts.py``.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.account.signals import authentication_step_completed
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

# When the user last proved who they are: a login, or a password / second factor typed again
# (sudo mode asks again past RECENT_AUTH_SECONDS).
LAST_AUTH_SESSION_KEY = "certdesk_last_auth_at"
RECENT_AUTH_SECONDS = 5 * 60
# When the session's user logged in (the absolute session lifetime counts from it).
SESSION_STARTED_SESSION_KEY = "certdesk_logged_in_at"


@receiver(user_logged_in, dispatch_uid="certdesk-remember-authentication")
def remember_authentication(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """Stamp the session with the time of this login: the last authentication and the start."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp()
        request.session[SESSION_STARTED_SESSION_KEY] = timezone.now().timestamp()


@receiver(user_logged_in, dispatch_uid="certdesk-address-on-record")
def address_on_record(sender: object, user: User, **kwargs: object) -> None:
    """A person made outside certdesk's services (createsuperuser, the Django admin) gets their
    address on record as allauth keeps it, so that the Email page, a password reset and SSO
    matching see it. It counts as confirmed, like every address an administrator types: allauth
    treats an unconfirmed address as one being changed to, and would drop it at the next
    change, leaving the person without an address (and without reminders)."""
    address = user.email
    if address and not EmailAddress.objects.filter(user=user).exists():
        EmailAddress.objects.get_or_create(
            user=user, email=address.lower(), defaults={"primary": True, "verified": True}
        )


@receiver(authentication_step_completed, dispatch_uid="certdesk-remember-reauthentication")
def remember_reauthentication(
    sender: object, request: HttpRequest | None, **kwargs: object
) -> None:
    """A password, a second factor or a provider confirmed it is them (a login's steps, or the
    reauthentication of sudo mode): the last authentication is now."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp()


def authenticated_recently(request: HttpRequest) -> bool:
    """Did this session's user prove who they are within RECENT_AUTH_SECONDS? (Sudo mode, for
    certdesk's sensitive actions and allauth's own: adding a second factor, changing the
    password or the address.)"""
    stamp = request.session.get(LAST_AUTH_SESSION_KEY) if hasattr(request, "session") else None
    if not isinstance(stamp, int | float):
        return False
    return timezone.now().timestamp() - stamp <= RECENT_AUTH_SECONDS
