"""Access checks shared by the views: objects a user may not see are 404, not 403, so that a
non-member learns nothing about another environment's requests; a member whose role is too low
gets 403 with an explanation."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache, wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.http import urlencode

from certificates.models import Environment, SigningRequest
from certificates.permissions import Action, require, user_can

ModelT = TypeVar("ModelT", Environment, SigningRequest)

# Private-key downloads ask for the password again past this age of the last authentication.
RECENT_AUTH = timedelta(minutes=5)
LAST_AUTH_SESSION_KEY = "certdesk_last_auth_at"
# When the session's user logged in (the absolute session lifetime counts from it).
SESSION_STARTED_SESSION_KEY = "certdesk_logged_in_at"
# Trusted as proxies when CERTDESK_BEHIND_PROXY is on and CERTDESK_TRUSTED_PROXIES is empty: a
# proxy on the docker host reaches the container from the bridge's private address.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")


def environment_for(request: HttpRequest, slug: str, action: Action = Action.VIEW) -> Environment:
    environment = Environment.objects.filter(slug=slug).first()
    if environment is None or not user_can(request.user, Action.VIEW, environment):
        raise Http404("No such environment.")
    require(request.user, action, environment)
    return environment


def signing_request_for(
    request: HttpRequest,
    pk: int,
    action: Action = Action.VIEW,
    queryset: QuerySet[SigningRequest] | None = None,
) -> SigningRequest:
    queryset = queryset if queryset is not None else SigningRequest.objects.all()
    signing_request = queryset.select_related("environment", "key").filter(pk=pk).first()
    if signing_request is None or not user_can(
        request.user, Action.VIEW, signing_request.environment
    ):
        raise Http404("No such request.")
    require(request.user, action, signing_request.environment)
    return signing_request


def superuser_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrators' pages: 403 for everyone else (login is enforced by the middleware)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_active and request.user.is_superuser):
            raise PermissionDenied("Only certdesk administrators may open this page.")
        return view(request, *args, **kwargs)

    return wrapped


@receiver(user_logged_in)
def _remember_authentication(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp()
        request.session[SESSION_STARTED_SESSION_KEY] = timezone.now().timestamp()


@lru_cache(maxsize=8)
def _proxy_networks(
    configured: tuple[str, ...], behind_proxy: bool
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if configured:
        names = (*LOOPBACK_NETWORKS, *configured)
    elif behind_proxy:
        names = (*LOOPBACK_NETWORKS, *PRIVATE_NETWORKS)
    else:
        names = ()
    return tuple(ipaddress.ip_network(name, strict=False) for name in names)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_proxy(remote_addr: str | None) -> bool:
    """Whether a connection from ``remote_addr`` comes from a proxy whose X-Forwarded-* headers
    are believed: CERTDESK_TRUSTED_PROXIES (plus loopback), or with only CERTDESK_BEHIND_PROXY,
    loopback and the private ranges. Nobody when neither is set."""
    address = _address(remote_addr)
    if address is None:
        return False
    networks = _proxy_networks(
        tuple(settings.CERTDESK_TRUSTED_PROXIES), bool(settings.CERTDESK_BEHIND_PROXY)
    )
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, which failed logins are counted against (AXES_CLIENT_IP_CALLABLE).

    X-Forwarded-For is read only when the connection comes from a trusted proxy
    (``trusted_proxy``), from its right end: each trusted proxy appended the address it saw, so
    the first entry from the right that is not itself a trusted proxy is the client. Entries to
    its left come from the client and may be forged. A garbage entry stops the walk at the last
    address known good (the proxy's own, at worst).
    """
    remote: str | None = request.META.get("REMOTE_ADDR")
    if not trusted_proxy(remote):
        return remote
    client = remote
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(entry)
        if address is None:
            break
        client = str(address)
        if not trusted_proxy(client):
            break
    return client


def mark_authenticated_now(request: HttpRequest) -> None:
    request.session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp()


def authenticated_recently(request: HttpRequest) -> bool:
    stamp = request.session.get(LAST_AUTH_SESSION_KEY)
    if not isinstance(stamp, int | float):
        return False
    return timezone.now().timestamp() - stamp <= RECENT_AUTH.total_seconds()


def reauthenticate(request: HttpRequest, *, back_to: str | None = None) -> HttpResponseRedirect:
    """Send the user to type their password again, then back to ``back_to`` (a POST cannot be
    replayed, so downloads come back to the page that offers them)."""
    return HttpResponseRedirect(
        reverse("reauthenticate") + "?" + urlencode({"next": back_to or request.get_full_path()})
    )


def post_data(request: HttpRequest) -> QueryDict | None:
    """The POST data of a POST, even an empty one (``access.post_data(request)`` would leave an
    empty submission unbound and silently show a blank form instead of the errors)."""
    return request.POST if request.method == "POST" else None


def post_files(request: HttpRequest) -> MultiValueDict[str, UploadedFile] | None:
    return request.FILES if request.method == "POST" else None
