"""Who may scrape /metrics: never anyone by default.

- ``CERTDESK_METRICS_TOKEN``: the scraper sends ``Authorization: Bearer <token>``; compared in
  constant time (the SHA-256 of each side, so not even the length shows).
- ``CERTDESK_METRICS_ALLOWED_IPS``: addresses or networks (CIDR) the scraper may come from, the
  client's address read as everywhere else (:func:`certificates.actors.client_ip`: through
  ``X-Forwarded-For`` only from a trusted proxy).
- Both set: both must hold. Neither set: /metrics does not exist (404).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from enum import Enum
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from certificates.actors import client_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Verdict(Enum):
    ALLOWED = "allowed"
    DISABLED = "disabled"  # neither setting: 404
    NO_TOKEN = "no token"  # noqa: S105 - missing or wrong bearer token: 401
    ADDRESS = "address"  # not from an allowed address: 403


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in configured)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def token_matches(request: HttpRequest, token: str) -> bool:
    """Whether the request carries ``token`` as its bearer token, in constant time."""
    return hmac.compare_digest(_digest(_bearer(request)), _digest(token))


def address_allowed(request: HttpRequest, allowed: tuple[str, ...]) -> bool:
    text = client_ip(request)
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(allowed))


def verdict(request: HttpRequest) -> Verdict:
    token: str = settings.CERTDESK_METRICS_TOKEN
    allowed = tuple(settings.CERTDESK_METRICS_ALLOWED_IPS)
    if not token and not allowed:
        return Verdict.DISABLED
    # The address first: a scraper from elsewhere learns nothing about the token.
    if allowed and not address_allowed(request, allowed):
        return Verdict.ADDRESS
    if token and not token_matches(request, token):
        return Verdict.NO_TOKEN
    return Verdict.ALLOWED
