"""Signal receivers, connected by ``CertificatesConfig.ready`` (importing this module connects
them). A receiver records what happened; the rules that read it live where they are used
(``views.access`` for a recent login, ``middleware`` for the session's absolute lifetime).
The refusal to delete a user is in ``certificates/accounts.py``.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

# When the user last typed their password (private-key downloads ask again past a few minutes).
LAST_AUTH_SESSION_KEY = "certdesk_last_auth_at"
# When the session's user logged in (the absolute session lifetime counts from it).
SESSION_STARTED_SESSION_KEY = "certdesk_logged_in_at"


@receiver(user_logged_in, dispatch_uid="certdesk-remember-authentication")
def remember_authentication(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """Stamp the session with the time of this login: the last authentication and the start."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp()
        request.session[SESSION_STARTED_SESSION_KEY] = timezone.now().timestamp()
