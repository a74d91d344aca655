"""Who acts, and from which address: below the services, so that every layer may name an actor.

:class:`Actor` is what each audited service receives; :func:`client_ip` is the client's address
behind the trusted proxies (the one failed logins are counted against, and the one recorded).
Neither reads the database.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from certificates.models import AuditEvent
from certificates.permissions import Action, require, user_can

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

    from certificates.models import Environment

# Trusted as proxies when CERTDESK_BEHIND_PROXY is on and CERTDESK_TRUSTED_PROXIES is empty: a
# proxy on the docker host reaches the container from the bridge's private address.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
# Where an action came from when a script called the REST API with a token (issue 17). Stored
# in AuditEvent.origin beside the browser, cli and system of AuditEvent.Origin.
API_ORIGIN = "api"


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


def os_login() -> str:
    """The operating-system account running this process, from its effective uid.

    Not ``getpass.getuser()``, which believes $LOGNAME and $USER: ``USER=alice manage.py ...``
    would be recorded as alice. Under sudo, root is what acts and the invoking login (which
    only root could have faked) is added: ``root (sudo from alice)``.
    """
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        # A uid without a passwd entry (some containers).
        name = f"uid {uid}"
    sudo_user = os.environ.get("SUDO_USER", "")
    if uid == 0 and sudo_user and sudo_user != name:
        name = f"{name} (sudo from {sudo_user[:64]})"
    return name[:150]


@dataclass(frozen=True)
class Actor:
    """Who does something: a user (from a request, with their address), the CLI, or certdesk.

    ``origin`` says where the action came from (browser, cli, system) and ``os_user`` which
    operating-system login ran a command; both are recorded on every event. On the command
    line, ``--user`` scopes what the command may do; it does not authenticate (the OS login is
    the only identity the command line proves).
    """

    user: User | None = None
    ip: str | None = None
    label: str = ""
    origin: str = AuditEvent.Origin.SYSTEM
    os_user: str = ""
    # Through an API token (issue 17): its name, recorded with the user's ("alice via API token
    # “deploy”"), and what the token allows: these actions in these environments (by id), on
    # top of the user's own roles. None: no limit beyond the roles.
    via: str = ""
    token_actions: frozenset[Action] | None = None
    token_environment_ids: frozenset[int] | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        # The address failed logins are counted against too (the proxy-aware one).
        user = request.user
        return cls(
            user=user if isinstance(user, get_user_model()) else None,
            ip=client_ip(request),
            origin=AuditEvent.Origin.BROWSER,
        )

    @classmethod
    def browser(cls, *, user: User | None, ip: str | None) -> Actor:
        """A browser action known by its user and address (the first-run page, before login)."""
        return cls(user=user, ip=ip, origin=AuditEvent.Origin.BROWSER)

    @classmethod
    def cli(cls, user: User | None = None) -> Actor:
        """The command line: as ``user`` (``--user``), or as the server operator without it."""
        return cls(user=user, label="cli", origin=AuditEvent.Origin.CLI, os_user=os_login())

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """certdesk itself: the worker and the scheduler (beat)."""
        return cls(label=label, origin=AuditEvent.Origin.SYSTEM)

    @classmethod
    def api(
        cls,
        *,
        user: User,
        ip: str | None,
        token_name: str,
        actions: frozenset[Action],
        environment_ids: frozenset[int],
    ) -> Actor:
        """A script calling the REST API with ``user``'s token ``token_name``: the user's roles
        apply, narrowed to what the token allows (``actions`` in ``environment_ids``)."""
        return cls(
            user=user,
            ip=ip,
            origin=API_ORIGIN,
            via=token_name,
            token_actions=actions,
            token_environment_ids=environment_ids,
        )

    def _token_allows(self, action: Action, environment: Environment) -> bool:
        return (self.token_actions is None or action in self.token_actions) and (
            self.token_environment_ids is None or environment.pk in self.token_environment_ids
        )

    def may(self, action: Action, environment: Environment) -> bool:
        """Whether this actor may do ``action`` in ``environment`` (the operator always may)."""
        if not self._token_allows(action, environment):
            return False
        return self.user is None or user_can(self.user, action, environment)

    def require(self, action: Action, environment: Environment) -> None:
        """Refuse (PermissionDenied) unless this actor may do ``action`` in ``environment``.

        A user (browser, or ``--user`` on the command line) is checked against their role; the
        command line without ``--user`` and certdesk itself act as the operator and pass. An
        API token's own limits (its scopes and environments) apply on top of the role.
        """
        if self.user is not None:
            require(self.user, action, environment)
        if not self._token_allows(action, environment):
            raise PermissionDenied(
                f"The API token “{self.via}” does not allow this in {environment.name}."
            )

    @property
    def name(self) -> str:
        if self.user is not None:
            name = self.user.get_username()
            # The token's name goes with the user's into every event and outbox row.
            return f"{name} via API token “{self.via}”"[:150] if self.via else name
        return self.label or "system"
