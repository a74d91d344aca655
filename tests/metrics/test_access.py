"""Who may scrape /metrics (issue 18): never anyone by default; a bearer token compared in
constant time and/or an address allow-list read behind the trusted proxies; no login, no session,
nothing written."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from tests.support.manage import run_manage
from tests.support.metrics import TOKEN

pytestmark = pytest.mark.django_db

BEARER = f"Bearer {TOKEN}"


def get(**extra: Any) -> Any:
    return Client().get("/metrics", **extra)


def test_metrics_are_a_404_when_nothing_is_configured(settings: Any) -> None:
    """Never open by default: with neither the token nor an allow-list, the page does not exist,
    whatever the request carries, and for a logged-in administrator too."""
    settings.CERTDESK_METRICS_TOKEN = ""
    settings.CERTDESK_METRICS_ALLOWED_IPS = []
    assert get().status_code == 404
    assert get(HTTP_AUTHORIZATION=BEARER).status_code == 404
    admin = User.objects.create_superuser("admin", "admin@example.com", "correct horse battery")
    client = Client()
    client.force_login(admin)
    assert client.get("/metrics").status_code == 404


def test_the_token_is_required_when_set(metrics_on: str) -> None:
    """Without the token or with another one: 401 and how to authenticate; with it: the page, in
    the Prometheus text format, never cached."""
    missing = get()
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="certdesk metrics"'
    assert TOKEN not in missing.content.decode()
    assert get(HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 401
    assert get(HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert get(HTTP_AUTHORIZATION=TOKEN).status_code == 401
    allowed = get(HTTP_AUTHORIZATION=BEARER)
    assert allowed.status_code == 200
    assert allowed["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "no-cache" in allowed["Cache-Control"]
    assert "certdesk_renewal_lead_seconds" in allowed.content.decode()
    # The scheme is case-insensitive (RFC 7235).
    assert get(HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200


def test_the_token_is_compared_in_constant_time(
    metrics_on: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hmac.compare_digest over the SHA-256 of each side: equal lengths whatever was sent, so
    neither the content nor the length of the token shows in the time taken."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert get(HTTP_AUTHORIZATION="Bearer x").status_code == 401
    assert get(HTTP_AUTHORIZATION=BEARER).status_code == 200
    expected = hashlib.sha256(TOKEN.encode()).digest()
    assert compared == [(hashlib.sha256(b"x").digest(), expected), (expected, expected)]


def test_an_allow_list_alone_lets_those_addresses_in(settings: Any) -> None:
    """With CERTDESK_METRICS_ALLOWED_IPS only, an address of the list (or its networks) scrapes
    without a token; any other gets 403."""
    settings.CERTDESK_METRICS_TOKEN = ""
    settings.CERTDESK_METRICS_ALLOWED_IPS = ["10.0.0.7", "192.168.20.0/24", "2001:db8::/32"]
    assert get(REMOTE_ADDR="10.0.0.7").status_code == 200
    assert get(REMOTE_ADDR="192.168.20.99").status_code == 200
    assert get(REMOTE_ADDR="::ffff:10.0.0.7").status_code == 200
    assert get(REMOTE_ADDR="2001:db8::5").status_code == 200
    refused = get(REMOTE_ADDR="10.0.0.8")
    assert refused.status_code == 403
    assert "CERTDESK_METRICS_ALLOWED_IPS" in refused.content.decode()


def test_the_address_is_read_behind_trusted_proxies_only(settings: Any) -> None:
    """The client's address is certificates.actors.client_ip's: X-Forwarded-For counts from a
    trusted proxy, and a direct client cannot claim an allowed address by writing it."""
    settings.CERTDESK_METRICS_TOKEN = ""
    settings.CERTDESK_METRICS_ALLOWED_IPS = ["10.0.0.7"]
    settings.CERTDESK_TRUSTED_PROXIES = ["192.0.2.1"]
    assert get(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.7").status_code == 200
    forged = get(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.0.0.7")
    assert forged.status_code == 403
    # The proxy itself is not on the list: what it forwards for someone else is refused.
    assert get(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.9").status_code == 403


def test_both_set_both_must_hold(settings: Any) -> None:
    settings.CERTDESK_METRICS_TOKEN = TOKEN
    settings.CERTDESK_METRICS_ALLOWED_IPS = ["10.0.0.0/24"]
    assert get(REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION=BEARER).status_code == 200
    assert get(REMOTE_ADDR="10.0.0.7").status_code == 401
    assert get(REMOTE_ADDR="10.0.1.7", HTTP_AUTHORIZATION=BEARER).status_code == 403


def test_a_scrape_writes_no_session_and_sets_no_cookie(metrics_on: str) -> None:
    """Outside the session and account machinery: no session row, no cookie, for a scrape
    before anyone exists (no redirect to the first-run page either) as after."""
    assert not User.objects.exists()
    first = get(HTTP_AUTHORIZATION=BEARER)
    assert first.status_code == 200
    User.objects.create_user("alice", "alice@example.com", "correct horse battery")
    again = get(HTTP_AUTHORIZATION=BEARER)
    assert again.status_code == 200
    for response in (first, again):
        assert not response.cookies
    assert not Session.objects.exists()


def test_only_get_and_head_are_answered(metrics_on: str) -> None:
    client = Client()
    assert client.head("/metrics", HTTP_AUTHORIZATION=BEARER).status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION=BEARER).status_code in {403, 405}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"CERTDESK_METRICS_TOKEN": "too-short"}, "CERTDESK_METRICS_TOKEN must be at least 32"),
        (
            {"CERTDESK_METRICS_ALLOWED_IPS": "10.0.0.7,not-a-network"},
            "CERTDESK_METRICS_ALLOWED_IPS: 'not-a-network' is not an address",
        ),
    ],
)
def test_a_weak_token_or_a_bad_network_refuses_to_start(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    result = run_manage(tmp_path, "check", **variables)
    assert result.returncode != 0
    assert named in result.stderr
