"""Single sign-on refuses an answer that is not for this sign-in, this client or this issuer:
the authorization request carries state, nonce and PKCE, and the ID token's nonce, audience and
issuer are checked. A fake issuer (tests/support/oidc.py) signs whatever ID token a test needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent
from tests.support.oidc import (
    CALLBACK_PATH,
    CLIENT_ID,
    LOGIN_PATH,
    FakeIssuer,
    finish_login,
    logged_in_user_id,
    sso_settings,
    start_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def issuer(settings: Any, admin_user: User) -> Iterator[FakeIssuer]:
    # admin_user: certdesk is set up (without anyone, every page leads to /setup/).
    with FakeIssuer() as fake:
        sso_settings(settings, issuer=fake.url)
        yield fake


def assert_refused(response: Any, client: Client, *, saying: str = "") -> None:
    """The sign-in failed page, nobody logged in, no account made."""
    page = response.content.decode()
    assert response.status_code == 401, page[:2000]
    assert "Single sign-on failed" in page
    assert "You are not signed in." in page
    if saying:
        assert saying in page
    assert logged_in_user_id(client) is None
    assert not SocialAccount.objects.exists()
    assert not User.objects.filter(email="dora@example.com").exists()


def test_the_authorization_request_carries_state_nonce_and_pkce(issuer: FakeIssuer) -> None:
    client = Client()
    params = start_login(client)
    assert params["client_id"] == CLIENT_ID
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == "http://testserver" + CALLBACK_PATH
    assert len(params["state"]) >= 16
    assert len(params["nonce"]) >= 40  # 32 random bytes
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    again = start_login(Client())
    assert again["nonce"] != params["nonce"]
    assert again["state"] != params["state"]


def test_a_valid_answer_logs_in_and_sends_the_pkce_verifier(issuer: FakeIssuer) -> None:
    client = Client()
    params = start_login(client)
    response = finish_login(client, issuer, params)
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email="dora@example.com")
    assert logged_in_user_id(client) == str(user.pk)
    # The fake token endpoint refuses a wrong or missing verifier: certdesk sent the right one.
    (token_request,) = issuer.token_requests
    assert token_request["grant_type"] == ["authorization_code"]
    assert token_request["code_verifier"]


def test_an_id_token_for_another_client_is_refused(
    issuer: FakeIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    response = finish_login(client, issuer, start_login(client), aud="another-application")
    assert_refused(response, client)
    assert "InvalidAudienceError" in caplog.text  # refused for its audience, nothing else


def test_an_id_token_from_another_issuer_than_the_discovery_names_is_refused(
    issuer: FakeIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    response = finish_login(client, issuer, start_login(client), iss="https://evil.example")
    assert_refused(response, client)
    assert "InvalidIssuerError" in caplog.text


def test_a_discovery_document_naming_another_issuer_is_refused_before_leaving(
    issuer: FakeIssuer,
) -> None:
    issuer.discovery_issuer = "https://evil.example"
    client = Client()
    response = client.post(LOGIN_PATH)
    assert_refused(response, client, saying="CERTDESK_OIDC_ISSUER")


def test_an_id_token_whose_issuer_is_not_the_configured_one_is_refused(
    issuer: FakeIssuer,
) -> None:
    """allauth checks the ID token against the discovery document only: a document that changed
    to another issuer between the two steps, and a token from it, are refused all the same."""
    client = Client()
    params = start_login(client)
    issuer.discovery_issuer = "https://evil.example"
    response = finish_login(client, issuer, params, iss="https://evil.example")
    assert_refused(response, client, saying="another issuer than the one certdesk trusts")
    refusal = AuditEvent.objects.get(action="account.sso_refused")
    assert refusal.details["issuer"] == "https://evil.example"


def test_an_id_token_with_another_nonce_is_refused_and_audited(issuer: FakeIssuer) -> None:
    """A token obtained for another sign-in (replayed, or injected with a stolen code) does not
    carry this sign-in's nonce."""
    client = Client()
    response = finish_login(client, issuer, start_login(client), nonce="a-nonce-of-another-login")
    assert_refused(response, client, saying="does not belong to the sign-in certdesk started")
    refusal = AuditEvent.objects.get(action="account.sso_refused")
    assert refusal.details["subject"] == "subject-1"
    assert "nonce" in refusal.details["reason"]
    assert "a-nonce-of-another-login" not in str(refusal.details)


def test_an_id_token_without_a_nonce_is_refused(issuer: FakeIssuer) -> None:
    client = Client()
    params = start_login(client)
    issuer.expected_challenge = params["code_challenge"]
    issuer.id_token_claims = issuer.standard_claims(nonce="")
    del issuer.id_token_claims["nonce"]
    response = client.get(CALLBACK_PATH, {"code": "c", "state": params["state"]})
    assert_refused(response, client, saying="nonce differs")


def test_an_answer_without_an_id_token_is_refused(issuer: FakeIssuer) -> None:
    issuer.include_id_token = False
    issuer.userinfo = {"sub": "subject-1", "email": "dora@example.com", "email_verified": True}
    client = Client()
    response = finish_login(client, issuer, start_login(client))
    assert_refused(response, client, saying="sent no ID token")


def test_user_information_about_another_subject_is_refused(issuer: FakeIssuer) -> None:
    issuer.userinfo = {"sub": "someone-else", "email": "dora@example.com", "email_verified": True}
    client = Client()
    response = finish_login(client, issuer, start_login(client))
    assert_refused(response, client, saying="about someone else than its ID token")


def test_a_tampered_state_is_refused(issuer: FakeIssuer) -> None:
    client = Client()
    params = start_login(client)
    state = params["state"]
    tampered = state[:-1] + ("x" if state[-1] != "x" else "y")
    response = finish_login(client, issuer, {**params, "state": tampered})
    assert_refused(response, client)
    assert issuer.token_requests == []  # the code was never exchanged


def test_an_answer_is_used_once(issuer: FakeIssuer) -> None:
    """The state is consumed by the first callback: replaying the provider's redirect fails."""
    client = Client()
    params = start_login(client)
    assert finish_login(client, issuer, params).status_code == 302
    client.post("/logout/")
    assert logged_in_user_id(client) is None
    response = finish_login(client, issuer, params)
    assert response.status_code == 401
    assert logged_in_user_id(client) is None


def test_a_provider_that_does_not_answer_gives_a_clear_page(
    settings: Any, admin_user: User
) -> None:
    sso_settings(settings, issuer="http://127.0.0.1:9")  # discard port: refused at once
    client = Client()
    response = client.post(LOGIN_PATH)
    assert response.status_code == 401
    assert "could not reach Test IdP just now" in response.content.decode()
