"""X-Forwarded-For and X-Forwarded-Proto are believed only from a trusted proxy
(CERTDESK_TRUSTED_PROXIES; with only CERTDESK_BEHIND_PROXY, loopback and private ranges):
issue 12, point 13."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from certificates.views import access

pytestmark = pytest.mark.django_db


def ip_of(remote: str, forwarded: str) -> str | None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    return access.client_ip(request)


def test_a_direct_client_cannot_choose_its_address(settings: Any) -> None:
    """Behind a proxy at 10.1.2.3, a client reaching gunicorn directly from a public address
    and writing X-Forwarded-For is counted under its own address, not the one it wrote."""
    settings.CERTDESK_BEHIND_PROXY = True
    settings.CERTDESK_TRUSTED_PROXIES = ["10.1.2.3"]
    assert ip_of("203.0.113.50", "198.51.100.1") == "203.0.113.50"
    assert ip_of("10.1.2.3", "203.0.113.9, 198.51.100.1") == "198.51.100.1"
    # Another private address is not a trusted proxy once the list is set.
    assert ip_of("10.9.9.9", "198.51.100.1") == "10.9.9.9"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(settings: Any) -> None:
    """With two trusted hops (a network), the client is the first untrusted address from the
    right; what the client wrote to its left is ignored."""
    settings.CERTDESK_TRUSTED_PROXIES = ["10.1.2.0/24"]
    assert ip_of("10.1.2.3", "192.0.2.99, 198.51.100.1, 10.1.2.4") == "198.51.100.1"


def test_behind_proxy_alone_trusts_loopback_and_private_ranges_only(settings: Any) -> None:
    """CERTDESK_BEHIND_PROXY=true with no list keeps working for the docker host's proxy
    (the bridge's private address) but no longer for any sender."""
    settings.CERTDESK_BEHIND_PROXY = True
    settings.CERTDESK_TRUSTED_PROXIES = []
    assert ip_of("172.17.0.1", "198.51.100.1") == "198.51.100.1"
    assert ip_of("::ffff:127.0.0.1", "198.51.100.1") == "198.51.100.1"
    assert ip_of("203.0.113.50", "198.51.100.1") == "203.0.113.50"


def test_nobody_is_trusted_without_a_proxy(settings: Any) -> None:
    """With neither setting, X-Forwarded-For is never read, even from loopback."""
    settings.CERTDESK_BEHIND_PROXY = False
    settings.CERTDESK_TRUSTED_PROXIES = []
    assert ip_of("127.0.0.1", "198.51.100.1") == "127.0.0.1"


def test_x_forwarded_proto_from_an_untrusted_sender_is_ignored(settings: Any) -> None:
    """With the https redirect on, a direct client claiming X-Forwarded-Proto: https is still
    redirected to https (the header was dropped); the trusted proxy's claim is believed."""
    settings.CERTDESK_TRUSTED_PROXIES = ["10.1.2.3"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    direct = Client().get("/healthz", REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_PROTO="https")
    assert direct.status_code == 301
    assert direct["Location"].startswith("https://")
    proxied = Client().get("/healthz", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


@pytest.mark.slow
def test_a_typo_in_the_trusted_proxies_stops_the_start(tmp_path: Any) -> None:
    """CERTDESK_TRUSTED_PROXIES with something that is not an address or network is refused
    at start with a message naming it."""
    from tests.support.manage import run_manage

    result = run_manage(tmp_path, "check", CERTDESK_TRUSTED_PROXIES="10.0.0.0/8,proxy.local")
    assert result.returncode != 0
    assert "CERTDESK_TRUSTED_PROXIES: 'proxy.local' is not an address" in result.stderr
