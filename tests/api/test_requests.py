"""/api/v1/requests and /api/v1/environments/{slug}/send: reading (``read``), creating with a
key made here or one's own CSR, cancelling and sending to the TAM (``request``), idempotent with
an ``Idempotency-Key``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certificates import crypto, services
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Key,
    OutboundEmail,
    SigningRequest,
)
from certificates.services import Actor
from tests.support.api import ApiClient, problem
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita(person: Any, sandbox: Environment) -> ApiClient:
    """A requester's ``read`` + ``request`` token for Sandbox, called "renewal-bot"."""
    return ApiClient(
        person("rita", ("requester", sandbox)).token(
            "read", "request", environments=[sandbox], name="renewal-bot"
        )
    )


def test_the_list_and_one_request_with_its_csr(
    rita: ApiClient, sandbox: Environment, production: Environment, ready_request: SigningRequest
) -> None:
    elsewhere = services.request_create(
        actor=Actor.cli(), environment=production, purpose="mtls", subject=ACME
    )
    listed = rita.get("/requests").json()
    assert [item["id"] for item in listed["items"]] == [ready_request.pk]
    assert rita.get("/requests", {"status": "sent"}).json()["count"] == 0
    assert rita.get("/requests", {"purpose": "mtls", "environment": "sandbox"}).json()["count"] == 1
    detail = rita.get(f"/requests/{ready_request.pk}").json()
    assert detail["csr_pem"] == ready_request.csr_pem
    assert detail["subject"]["common_name"] == "acme.com"
    assert detail["private_key_held"] is True
    assert "PRIVATE KEY" not in str(detail)
    assert rita.get(f"/requests/{elsewhere.pk}").status_code == 404


def test_creating_a_request_makes_the_key_here(rita: ApiClient, sandbox: Environment) -> None:
    response = rita.post(
        "/requests",
        {"environment": "sandbox", "purpose": "signature", "subject": ACME.as_dict()},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["key_source"] == "generated"
    assert body["csr_pem"].startswith("-----BEGIN CERTIFICATE REQUEST-----")
    event = AuditEvent.objects.get(action="request.created")
    assert (event.actor_label, event.origin) == ("rita via API token “renewal-bot”", "api")


def test_the_subject_is_checked_as_the_browsers_form_checks_it(rita: ApiClient) -> None:
    subject = {**ACME.as_dict(), "country": "France", "common_name": "https://acme.com/"}
    response = rita.post(
        "/requests", {"environment": "sandbox", "purpose": "mtls", "subject": subject}
    )
    assert response.status_code == 400
    errors = problem(response)["errors"]
    assert set(errors) == {"subject.country", "subject.common_name"}
    assert "(the code of France is FR)" in errors["subject.country"]
    assert not SigningRequest.objects.exists()


def test_an_idempotency_key_makes_one_request_and_one_key(rita: ApiClient) -> None:
    body = {"environment": "sandbox", "purpose": "mtls", "subject": ACME.as_dict()}
    first = rita.post("/requests", body, **{"Idempotency-Key": "renew-2027"})
    retried = rita.post("/requests", body, **{"Idempotency-Key": "renew-2027"})
    assert (first.status_code, retried.status_code) == (201, 200)
    assert first.json()["id"] == retried.json()["id"]
    assert Key.objects.count() == 1
    other = rita.post(
        "/requests", {**body, "purpose": "signature"}, **{"Idempotency-Key": "renew-2027"}
    )
    assert other.status_code == 422
    problem(other)


def test_ones_own_csr(rita: ApiClient) -> None:
    csr = crypto.csr_to_pem(crypto.build_csr(crypto.generate_private_key(), ACME)).decode()
    response = rita.post("/requests", {"environment": "sandbox", "purpose": "mtls", "csr": csr})
    assert response.status_code == 201
    assert response.json()["key_source"] == "imported"
    assert response.json()["private_key_held"] is False
    again = rita.post("/requests", {"environment": "sandbox", "purpose": "mtls", "csr": csr})
    assert again.status_code == 400
    assert "used before" in problem(again)["errors"]["csr"]


@pytest.mark.parametrize(
    "body",
    [
        {"environment": "sandbox", "purpose": "mtls"},
        {"environment": "sandbox", "purpose": "mtls", "subject": ACME.as_dict(), "csr": "x"},
        {"environment": "sandbox", "purpose": "tls", "subject": ACME.as_dict()},
        {"environment": "../etc", "purpose": "mtls", "subject": ACME.as_dict()},
        {"environment": "sandbox", "purpose": "mtls", "csr": "a\x00b"},
        {"environment": "sandbox", "purpose": "mtls", "subject": ACME.as_dict(), "renews": 2**70},
    ],
)
def test_malformed_input_is_422_naming_the_field(rita: ApiClient, body: dict[str, Any]) -> None:
    response = rita.post("/requests", body)
    assert response.status_code == 422
    assert problem(response)["errors"]


def test_a_renewal_names_the_certificate_it_renews(rita: ApiClient, installed: Certificate) -> None:
    response = rita.post(
        "/requests",
        {
            "environment": "sandbox",
            "purpose": "mtls",
            "subject": ACME.as_dict(),
            "renews": installed.pk,
        },
    )
    assert response.status_code == 201
    assert response.json()["renews"] == installed.pk
    wrong = rita.post(
        "/requests",
        {
            "environment": "sandbox",
            "purpose": "signature",
            "subject": ACME.as_dict(),
            "renews": installed.pk,
        },
    )
    assert wrong.status_code == 400
    assert "same environment and purpose" in problem(wrong)["detail"]


def test_creating_needs_the_request_scope_and_role(
    person: Any, sandbox: Environment, production: Environment
) -> None:
    body = {"environment": "sandbox", "purpose": "mtls", "subject": ACME.as_dict()}
    reader = ApiClient(person("vic", ("requester", sandbox)).token("read", environments=[sandbox]))
    assert reader.post("/requests", body).status_code == 403
    mixed = person("mia", ("viewer", sandbox), ("requester", production))
    token = ApiClient(mixed.token("request", environments=[sandbox, production]))
    response = token.post("/requests", body)
    assert response.status_code == 403
    assert problem(response)["detail"] == "Your role in Sandbox does not allow this."
    assert token.post("/requests", {**body, "environment": "production"}).status_code == 201


def test_cancelling_with_a_reason(rita: ApiClient, ready_request: SigningRequest) -> None:
    empty = rita.post(f"/requests/{ready_request.pk}/cancel", {"reason": "  "})
    assert empty.status_code == 400
    assert "Say why" in problem(empty)["errors"]["reason"]
    done = rita.post(f"/requests/{ready_request.pk}/cancel", {"reason": "Typo in the CN."})
    assert done.status_code == 200
    assert done.json()["status"] == "cancelled"
    assert done.json()["private_key_held"] is False
    twice = rita.post(f"/requests/{ready_request.pk}/cancel", {"reason": "Again."})
    assert twice.status_code == 400
    assert "cancelled" in problem(twice)["detail"]
    event = AuditEvent.objects.get(action="request.cancelled")
    assert event.actor_label == "rita via API token “renewal-bot”"


# --- sending to the TAM ----------------------------------------------------------------------


@pytest.fixture
def with_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save(update_fields=["tam_emails"])
    return sandbox


def test_sending_is_once_per_idempotency_key(
    rita: ApiClient, with_tam: Environment, ready_request: SigningRequest
) -> None:
    body = {"requests": [ready_request.pk], "message": "This replaces Monday's CSR."}
    first = rita.post("/environments/sandbox/send", body, **{"Idempotency-Key": "send-1"})
    assert first.status_code == 201, first.content
    assert first.json()["replayed"] is False
    assert first.json()["to"] == ["tam@treezor.example"]
    retried = rita.post("/environments/sandbox/send", body, **{"Idempotency-Key": "send-1"})
    assert retried.status_code == 200
    assert retried.json()["replayed"] is True
    assert retried.json()["id"] == first.json()["id"]
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TAM_CSR).count() == 1
    ready_request.refresh_from_db()
    assert ready_request.status == SigningRequest.Status.SENT
    event = AuditEvent.objects.get(action="request.sent_to_tam")
    assert event.actor_label == "rita via API token “renewal-bot”"
    # Without the key, a second send of a sent CSR is the browser's refusal.
    again = rita.post("/environments/sandbox/send", body)
    assert again.status_code == 400
    assert "was sent to the TAM already" in problem(again)["detail"]


def test_the_same_key_from_another_token_is_another_send(
    person: Any, rita: ApiClient, with_tam: Environment, issue: Callable[..., bytes]
) -> None:
    one, two = (
        services.request_create(actor=Actor.cli(), environment=with_tam, purpose=p, subject=ACME)
        for p in ("mtls", "signature")
    )
    other = ApiClient(
        person("rob", ("requester", with_tam)).token("request", environments=[with_tam])
    )
    assert (
        rita.post(
            "/environments/sandbox/send", {"requests": [one.pk]}, **{"Idempotency-Key": "k"}
        ).status_code
        == 201
    )
    assert (
        other.post(
            "/environments/sandbox/send", {"requests": [two.pk]}, **{"Idempotency-Key": "k"}
        ).status_code
        == 201
    )
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TAM_CSR).count() == 2


def test_sending_refusals(
    rita: ApiClient, sandbox: Environment, production: Environment, ready_request: SigningRequest
) -> None:
    no_tam = rita.post("/environments/sandbox/send", {"requests": [ready_request.pk]})
    assert no_tam.status_code == 400
    assert "no Technical Account Manager address" in problem(no_tam)["detail"]
    elsewhere = services.request_create(
        actor=Actor.cli(), environment=production, purpose="mtls", subject=ACME
    )
    hidden = rita.post("/environments/sandbox/send", {"requests": [elsewhere.pk]})
    assert hidden.status_code == 404
    assert rita.post("/environments/production/send", {"requests": [1]}).status_code == 404
    too_long = rita.post(
        "/environments/sandbox/send", {"requests": [ready_request.pk], "message": "x" * 20001}
    )
    assert too_long.status_code == 422
    key = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save(update_fields=["tam_emails"])
    leaked = rita.post(
        "/environments/sandbox/send", {"requests": [ready_request.pk], "message": key}
    )
    assert leaked.status_code == 400
    assert "private-key material" in problem(leaked)["errors"]["message"]
    assert key.splitlines()[1] not in leaked.content.decode()
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TAM_CSR).exists()


def test_an_idempotency_key_too_long_is_refused(
    rita: ApiClient, with_tam: Environment, ready_request: SigningRequest
) -> None:
    response = rita.post(
        "/environments/sandbox/send",
        {"requests": [ready_request.pk]},
        **{"Idempotency-Key": "k" * 256},
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in problem(response)["errors"]
