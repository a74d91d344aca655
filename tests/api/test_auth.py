"""Who may call the API: a token sent as ``Authorization: Bearer``, checked at every call.

401 (problem+json, ``WWW-Authenticate: Bearer``) for a missing, malformed, unknown, expired or
revoked token and for a deactivated owner; a browser session never opens the API; no cookie
and no CSRF token are needed; each token has its rate limit (429 with ``Retry-After``); "last
used" is written at most once a minute.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates import services
from certificates.models import ApiToken, AuditEvent, Environment
from certificates.services import Actor
from certificates.services.api_tokens import api_token_revoke
from tests.support.api import ApiClient, problem

pytestmark = pytest.mark.django_db


def _token_row(secret: str) -> ApiToken:
    return ApiToken.objects.get(prefix=secret[:15])


def test_no_token_is_401_with_www_authenticate(anonymous: ApiClient, admin_user: User) -> None:
    response = anonymous.get("/environments")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="certdesk"'
    assert "Authorization: Bearer" in problem(response)["detail"]


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Basic YWxpY2U6cGFzc3dvcmQ=", "invalid_request"),
        ("Bearer", "invalid_request"),
        ("Bearer certdesk_" + "x" * 43, "invalid_token"),
        ("Bearer not-one-of-ours", "invalid_token"),
        ("Bearer " + "certdesk_" * 40, "invalid_token"),
    ],
)
def test_a_malformed_or_unknown_token_is_401(
    person: Any, sandbox: Environment, header: str, error: str
) -> None:
    person("alice", ("viewer", sandbox)).token("read", environments=[sandbox])
    response = Client().get("/api/v1/environments", headers={"Authorization": header})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'Bearer realm="certdesk", error="{error}"'
    problem(response)


def test_the_scheme_is_case_insensitive(person: Any, sandbox: Environment) -> None:
    secret = person("alice", ("viewer", sandbox)).token("read", environments=[sandbox])
    response = Client().get("/api/v1/environments", headers={"Authorization": f"bearer {secret}"})
    assert response.status_code == 200


def test_an_expired_token_is_401_and_says_so(person: Any, sandbox: Environment) -> None:
    secret = person("alice", ("viewer", sandbox)).token("read", environments=[sandbox], days=2)
    client = ApiClient(secret)
    assert client.get("/environments").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        response = client.get("/environments")
    assert response.status_code == 401
    assert "expired on" in problem(response)["detail"]


def test_a_revoked_token_is_401_at_once(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox))
    secret = alice.token("read", environments=[sandbox])
    client = ApiClient(secret)
    assert client.get("/environments").status_code == 200
    api_token_revoke(actor=Actor.cli(), token=_token_row(secret))
    response = client.get("/environments")
    assert response.status_code == 401
    assert "revoked" in problem(response)["detail"]


def test_a_deactivated_owners_tokens_stop_at_once_and_for_good(
    person: Any, sandbox: Environment, admin_user: User
) -> None:
    """Deactivation revokes the tokens (recorded with it); even a token that somehow escaped
    is refused while its owner is inactive; reactivation does not bring them back."""
    alice = person("alice", ("viewer", sandbox))
    client = ApiClient(alice.token("read", environments=[sandbox], name="deploy"))
    services.user_deactivate(actor=Actor.cli(admin_user), user=alice.user)
    response = client.get("/environments")
    assert response.status_code == 401
    problem(response)
    services.user_reactivate(actor=Actor.cli(admin_user), user=alice.user)
    assert client.get("/environments").status_code == 401
    event = AuditEvent.objects.get(action="settings.user_deactivated")
    assert event.details["api_tokens_revoked"] == ["deploy"]


def test_an_inactive_owner_is_refused_even_before_revocation(
    person: Any, sandbox: Environment
) -> None:
    alice = person("alice", ("viewer", sandbox))
    client = ApiClient(alice.token("read", environments=[sandbox]))
    User.objects.filter(pk=alice.user.pk).update(is_active=False)
    response = client.get("/environments")
    assert response.status_code == 401
    assert "deactivated" in problem(response)["detail"]


def test_a_browser_session_does_not_open_the_api(
    admin_client: Client, sandbox: Environment
) -> None:
    """Logged in as an administrator, with the session cookie: still 401 without a token."""
    response = admin_client.get("/api/v1/certificates")
    assert response.status_code == 401
    problem(response)


def test_no_cookie_is_set_and_no_csrf_token_is_needed(
    person: Any, sandbox: Environment, ready_request: Any
) -> None:
    secret = person("rita", ("requester", sandbox)).token("request", environments=[sandbox])
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/api/v1/requests/{ready_request.pk}/cancel",
        {"reason": "A typo in the Common Name."},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.content
    assert not response.cookies


def test_each_token_has_its_rate_limit(person: Any, sandbox: Environment, settings: Any) -> None:
    """Past CERTDESK_API_RATE_LIMIT calls in a minute: 429 with Retry-After, for that token
    only; the next minute it may call again."""
    settings.CERTDESK_API_RATE_LIMIT = 3
    alice = person("alice", ("viewer", sandbox))
    busy, other = (ApiClient(alice.token("read", environments=[sandbox])) for _ in range(2))
    start = timezone.now().replace(second=10, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        assert [busy.get("/environments").status_code for _ in range(3)] == [200] * 3
        response = busy.get("/environments")
        assert response.status_code == 429
        assert response["Retry-After"] == "50"
        assert "more than 3 calls" in problem(response)["detail"]
        assert other.get("/environments").status_code == 200
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert busy.get("/environments").status_code == 200


def test_a_rate_limit_of_zero_is_no_limit(person: Any, sandbox: Environment, settings: Any) -> None:
    settings.CERTDESK_API_RATE_LIMIT = 0
    client = ApiClient(person("alice", ("viewer", sandbox)).token("read", environments=[sandbox]))
    assert {client.get("/environments").status_code for _ in range(5)} == {200}


def test_last_used_is_written_at_most_once_a_minute(person: Any, sandbox: Environment) -> None:
    secret = person("alice", ("viewer", sandbox)).token("read", environments=[sandbox])
    client = ApiClient(secret)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get("/environments")
        token = _token_row(secret)
        assert token.last_used_at == start
        assert token.last_used_ip == "127.0.0.1"
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        with CaptureQueriesContext(connection) as queries:
            client.get("/environments")
        assert not [q for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
        assert _token_row(secret).last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get("/environments")
        assert _token_row(secret).last_used_at == start + timedelta(seconds=61)
