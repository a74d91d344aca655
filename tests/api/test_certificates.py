"""/api/v1/certificates and /api/v1/environments: reading (``read``), uploading (``request``),
compromise, revocation and key export (``custody``), through the browser's services: the same
refusals, the same audit events, with the token's name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from django.utils import timezone

from certificates import crypto, services
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Key,
    Membership,
    OutboundEmail,
    Revocation,
    SigningRequest,
)
from certificates.services import Actor
from certificates.services.revocations import revocation_request
from tests.support.api import ApiClient, problem
from tests.support.environments import migrated_environment
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

STRONG = "correct horse battery staple orbit lantern"


def ids(response: Any) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-id").first()  # type: ignore[return-value]


# --- environments ----------------------------------------------------------------------------


def test_environments_are_the_tokens_with_what_it_may_do_there_now(
    person: Any, sandbox: Environment, production: Environment
) -> None:
    """Scopes within the owner's role, never more; an environment where the owner lost their
    role disappears at once."""
    alice = person("alice", ("requester", sandbox), ("custodian", production))
    client = ApiClient(
        alice.token("read", "request", "custody", environments=[sandbox, production])
    )
    body = client.get("/environments").json()
    assert [(e["slug"], e["scopes"]) for e in body] == [
        ("sandbox", ["read", "request"]),
        ("production", ["read", "request", "custody"]),
    ]
    assert body[0]["treezor_ca_set"] is True
    Membership.objects.filter(user=alice.user, environment=production).delete()
    assert [e["slug"] for e in client.get("/environments").json()] == ["sandbox"]


# --- reading ---------------------------------------------------------------------------------


@pytest.fixture
def two_pairs(
    sandbox: Environment, production: Environment, issue: Callable[..., bytes]
) -> dict[str, Certificate]:
    """Sandbox: mTLS replaced once (one superseded, one in service) and signature; Production
    mTLS."""
    made = {}
    for name, environment, purpose in (
        ("old", sandbox, "mtls"),
        ("mtls", sandbox, "mtls"),
        ("signature", sandbox, "signature"),
        ("production", production, "mtls"),
    ):
        request = services.request_create(
            actor=Actor.cli(),
            environment=environment,
            purpose=purpose,
            subject=replace(ACME, common_name=f"{name}.acme.example"),
        )
        made[name] = services.certificate_upload(
            actor=Actor.cli(), data=issue(request), replace=True
        ).certificate
    return made


def test_the_list_shows_the_tokens_environments_and_filters(
    person: Any, sandbox: Environment, production: Environment, two_pairs: dict[str, Certificate]
) -> None:
    alice = person("alice", ("viewer", sandbox), ("viewer", production))
    client = ApiClient(alice.token("read", environments=[sandbox]))
    everything = client.get("/certificates")
    assert everything.json()["count"] == 3
    assert set(ids(everything)) == {two_pairs[n].pk for n in ("old", "mtls", "signature")}
    in_service = client.get(
        "/certificates", {"environment": "sandbox", "purpose": "mtls", "in_service": "true"}
    )
    assert ids(in_service) == [two_pairs["mtls"].pk]
    assert ids(client.get("/certificates", {"status": "superseded"})) == [two_pairs["old"].pk]
    assert ids(client.get("/certificates", {"in_service": "false"})) == [two_pairs["old"].pk]
    page = client.get("/certificates", {"limit": 1, "offset": 1})
    assert (page.json()["count"], len(ids(page))) == (3, 1)
    item = in_service.json()["items"][0]
    assert item["status"] == "valid"
    assert item["in_service"] is True
    assert item["replaces"] == two_pairs["old"].pk
    assert "pem" not in item


def test_another_environment_is_404_whether_it_exists_or_not(
    person: Any, sandbox: Environment, production: Environment, two_pairs: dict[str, Certificate]
) -> None:
    """The token names Sandbox only, though its owner may view Production: Production's
    certificate, an unknown id and an unknown environment all answer alike."""
    alice = person("alice", ("viewer", sandbox), ("viewer", production))
    client = ApiClient(alice.token("read", environments=[sandbox]))
    hidden = client.get(f"/certificates/{two_pairs['production'].pk}")
    missing = client.get("/certificates/999999")
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert problem(hidden)["detail"] == f"No certificate #{two_pairs['production'].pk}."
    assert client.get("/certificates", {"environment": "production"}).status_code == 404
    assert client.get("/certificates", {"environment": "staging"}).status_code == 404


def test_one_certificate_with_its_pem_and_chain_is_recorded_as_exported(
    person: Any, sandbox: Environment, installed: Certificate
) -> None:
    alice = person("alice", ("viewer", sandbox))
    client = ApiClient(alice.token("read", environments=[sandbox], name="deploy"))
    response = client.get(f"/certificates/{installed.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["pem"] == installed.pem
    assert body["full_chain_pem"].startswith(installed.pem.rstrip())
    assert body["fingerprint_sha256"] == crypto.format_fingerprint(installed.fingerprint)
    event = last_event("certificate.exported")
    assert event.actor == alice.user
    assert event.actor_label == "alice via API token “deploy”"
    assert event.origin == "api"
    assert event.ip == "127.0.0.1"


def test_reading_needs_the_read_scope(
    person: Any, sandbox: Environment, installed: Certificate
) -> None:
    alice = person("alice", ("custodian", sandbox))
    client = ApiClient(alice.token("custody", environments=[sandbox], name="keys-only"))
    for response in (client.get("/certificates"), client.get(f"/certificates/{installed.pk}")):
        assert response.status_code == 403
        assert "does not have the read scope" in problem(response)["detail"]


# --- upload ----------------------------------------------------------------------------------


def test_an_upload_installs_with_the_browsers_checks(
    person: Any, sandbox: Environment, ready_request: SigningRequest, issue: Callable[..., bytes]
) -> None:
    rita = person("rita", ("requester", sandbox))
    client = ApiClient(rita.token("request", environments=[sandbox], name="renewal-bot"))
    pem = issue(ready_request).decode()
    response = client.post("/certificates", {"certificate": pem, "environment": "sandbox"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["certificate"]["request"] == ready_request.pk
    assert body["certificate"]["in_service"] is True
    assert body["replaced"] is None
    event = last_event("certificate.uploaded")
    assert event.actor_label == "rita via API token “renewal-bot”"
    again = client.post("/certificates", {"certificate": pem})
    assert again.status_code == 400
    assert "uploaded already" in problem(again)["errors"]["certificate"]


def test_replacing_a_good_certificate_is_a_question_then_a_decision(
    person: Any, sandbox: Environment, installed: Certificate, issue: Callable[..., bytes]
) -> None:
    rita = person("rita", ("requester", sandbox))
    client = ApiClient(rita.token("request", environments=[sandbox]))
    renewal = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME, renews=installed
    )
    pem = issue(renewal).decode()
    asked = client.post("/certificates", {"certificate": pem})
    assert asked.status_code == 409
    body = problem(asked)
    assert [q["kind"] for q in body["questions"]] == ["replace"]
    assert "replace: true" in body["detail"]
    assert Certificate.objects.count() == 1
    done = client.post("/certificates", {"certificate": pem, "replace": True})
    assert done.status_code == 201
    assert done.json()["replaced"] == installed.pk


def test_trusting_an_issuer_is_for_administrators(
    person: Any, local_ca: LocalCA, issue: Callable[..., bytes], db: None
) -> None:
    """Production with no Treezor CA yet: a requester is refused, an administrator's token is
    asked, then trusts the issuer with ``trust_issuer: true``."""
    production = migrated_environment("Production")
    request = services.request_create(
        actor=Actor.cli(), environment=production, purpose="mtls", subject=ACME
    )
    chain = (issue(request) + local_ca.bundle_pem()).decode()
    rita = person("rita", ("requester", production))
    refused = ApiClient(rita.token("request", environments=[production])).post(
        "/certificates", {"certificate": chain}
    )
    assert refused.status_code == 400
    assert "has no Treezor CA yet" in problem(refused)["detail"]
    admin = ApiClient(person("boss", admin=True).token("request", environments=[production]))
    asked = admin.post("/certificates", {"certificate": chain})
    assert asked.status_code == 409, asked.content
    (question,) = problem(asked)["questions"]
    assert question["kind"] == "trust_issuer"
    assert question["issuers"][0]["subject"]
    assert (
        admin.post("/certificates", {"certificate": chain, "trust_issuer": True}).status_code == 201
    )
    production.refresh_from_db()
    assert production.ca_bundle


def test_a_private_key_pasted_as_a_certificate_is_refused_without_an_echo(
    person: Any, sandbox: Environment
) -> None:
    rita = person("rita", ("requester", sandbox))
    client = ApiClient(rita.token("request", environments=[sandbox]))
    key_pem = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
    response = client.post("/certificates", {"certificate": key_pem})
    assert response.status_code == 400
    assert "PRIVATE KEY-----\nMII" not in response.content.decode()
    assert key_pem.splitlines()[1] not in response.content.decode()


def test_uploading_needs_the_request_scope_and_role(
    person: Any, sandbox: Environment, ready_request: SigningRequest, issue: Callable[..., bytes]
) -> None:
    pem = issue(ready_request).decode()
    viewer = ApiClient(person("vic", ("viewer", sandbox)).token("read", environments=[sandbox]))
    response = viewer.post("/certificates", {"certificate": pem, "environment": "sandbox"})
    assert response.status_code == 403
    assert "does not have the request scope" in problem(response)["detail"]


# --- compromise, revocation ------------------------------------------------------------------


def test_a_compromise_report_emails_the_tam_once_per_idempotency_key(
    person: Any, sandbox: Environment, installed: Certificate
) -> None:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save(update_fields=["tam_emails"])
    carla = person("carla", ("custodian", sandbox))
    client = ApiClient(carla.token("custody", environments=[sandbox], name="incident"))
    body = {"suspected_since": f"{timezone.localdate():%Y-%m-%d}", "note": "Laptop stolen."}
    first = client.post(
        f"/certificates/{installed.pk}/compromise", body, **{"Idempotency-Key": "inc-42"}
    )
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "revocation requested"
    retried = client.post(
        f"/certificates/{installed.pk}/compromise", body, **{"Idempotency-Key": "inc-42"}
    )
    assert retried.status_code == 200
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TAM_REVOCATION).count() == 1
    other = client.post(f"/certificates/{installed.pk}/compromise", body)
    assert other.status_code == 409
    assert "already reported compromised" in problem(other)["detail"]
    assert Key.objects.get(pk=installed.signing_request.key_id).compromised_at is not None
    event = last_event("key.compromised")
    assert event.actor_label == "carla via API token “incident”"
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.TAM_REVOCATION)
    assert email.created_by_label == "carla via API token “incident”"


def test_a_future_compromise_date_is_refused_on_its_field(
    person: Any, sandbox: Environment, installed: Certificate
) -> None:
    client = ApiClient(
        person("carla", ("custodian", sandbox)).token("custody", environments=[sandbox])
    )
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(
        f"/certificates/{installed.pk}/compromise", {"suspected_since": f"{tomorrow:%Y-%m-%d}"}
    )
    assert response.status_code == 400
    assert "future" in problem(response)["errors"]["suspected_since"]


def test_confirming_a_revocation(person: Any, sandbox: Environment, installed: Certificate) -> None:
    client = ApiClient(
        person("carla", ("custodian", sandbox)).token("custody", environments=[sandbox])
    )
    today = f"{timezone.localdate():%Y-%m-%d}"
    nothing = client.post(
        f"/certificates/{installed.pk}/revocation/confirm", {"confirmed_on": today}
    )
    assert nothing.status_code == 409
    assert "No revocation was requested" in problem(nothing)["detail"]
    revocation_request(actor=Actor.cli(), certificate=installed, reason="superseded")
    done = client.post(f"/certificates/{installed.pk}/revocation/confirm", {"confirmed_on": today})
    assert done.status_code == 200
    assert done.json()["status"] == "revoked"
    assert Revocation.objects.get().confirmed_at is not None
    twice = client.post(f"/certificates/{installed.pk}/revocation/confirm", {"confirmed_on": today})
    assert twice.status_code == 400
    assert last_event("certificate.revoked").origin == "api"


def test_custody_needs_the_scope_and_the_role_at_the_moment_of_use(
    person: Any, sandbox: Environment, installed: Certificate
) -> None:
    """A custodian's custody token stops doing custody the moment they are made requester."""
    carla = person("carla", ("custodian", sandbox))
    client = ApiClient(carla.token("read", "custody", environments=[sandbox]))
    assert client.post(f"/certificates/{installed.pk}/key", {}).status_code == 200
    Membership.objects.filter(user=carla.user).update(role="requester")
    response = client.post(f"/certificates/{installed.pk}/key", {})
    assert response.status_code == 403
    assert problem(response)["detail"] == "Your role in Sandbox does not allow this."
    assert client.get(f"/certificates/{installed.pk}").status_code == 200


# --- key export ------------------------------------------------------------------------------


def test_the_key_as_pem_never_cached_and_recorded(
    person: Any, sandbox: Environment, installed: Certificate
) -> None:
    carla = person("carla", ("custodian", sandbox))
    client = ApiClient(carla.token("custody", environments=[sandbox], name="deploy"))
    response = client.post(f"/certificates/{installed.pk}/key", {"format": "pem"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    assert "no-store" in response["Cache-Control"]
    key = crypto.load_private_key(response.content)
    leaf = crypto.parse_certificates(installed.pem.encode())[0]
    assert crypto.public_key_fingerprint(key.public_key()) == crypto.public_key_fingerprint(
        leaf.public_key()
    )
    event = last_event("key.exported")
    assert (event.actor_label, event.details["format"]) == ("carla via API token “deploy”", "pem")


def test_the_key_as_pkcs12_with_a_passphrase_from_the_body(
    person: Any, sandbox: Environment, installed: Certificate
) -> None:
    client = ApiClient(
        person("carla", ("custodian", sandbox)).token("custody", environments=[sandbox])
    )
    weak = client.post(
        f"/certificates/{installed.pk}/key", {"format": "pkcs12", "passphrase": "password1"}
    )
    assert weak.status_code == 400
    assert "too" in problem(weak)["errors"]["passphrase"]
    response = client.post(
        f"/certificates/{installed.pk}/key", {"format": "pkcs12", "passphrase": STRONG}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pkcs12"
    assert "no-store" in response["Cache-Control"]
    key, certificate, _ = pkcs12.load_key_and_certificates(response.content, STRONG.encode())
    assert key is not None
    assert certificate is not None


def test_the_requests_key_too(
    person: Any, sandbox: Environment, ready_request: SigningRequest
) -> None:
    client = ApiClient(
        person("carla", ("custodian", sandbox)).token("custody", environments=[sandbox])
    )
    response = client.post(f"/requests/{ready_request.pk}/key", {})
    assert response.status_code == 200
    assert response.content.startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_refused_key_exports_are_recorded(
    person: Any, sandbox: Environment, production: Environment, installed: Certificate
) -> None:
    """A token without custody (403) and one that may not see the certificate (404): both
    leave a ``key.export_refused`` event with the token's name, as the browser's refusals do."""
    rita = person("rita", ("requester", sandbox), ("custodian", production))
    reader = ApiClient(rita.token("read", "request", environments=[sandbox], name="reader"))
    prod = ApiClient(rita.token("custody", environments=[production], name="prod"))
    assert reader.post(f"/certificates/{installed.pk}/key", {}).status_code == 403
    assert prod.post(f"/certificates/{installed.pk}/key", {}).status_code == 404
    events = AuditEvent.objects.filter(action="key.export_refused").order_by("id")
    assert [(e.actor_label, e.details["status"]) for e in events] == [
        ("rita via API token “reader”", 403),
        ("rita via API token “prod”", 404),
    ]
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_a_destroyed_key_is_refused_with_the_browsers_words(
    person: Any, sandbox: Environment, ready_request: SigningRequest
) -> None:
    services.request_cancel(actor=Actor.cli(), signing_request=ready_request, reason="Typo.")
    client = ApiClient(
        person("carla", ("custodian", sandbox)).token("custody", environments=[sandbox])
    )
    response = client.post(f"/requests/{ready_request.pk}/key", {})
    assert response.status_code == 400
    assert "was destroyed on" in problem(response)["detail"]


def test_an_upload_for_another_environment_says_nothing_of_it(
    person: Any,
    sandbox: Environment,
    production: Environment,
    ready_request: SigningRequest,
    issue: Callable[..., bytes],
    local_ca: LocalCA,
) -> None:
    """A Production token uploading Sandbox's certificate hears what it would hear of a
    certificate whose key certdesk never saw."""
    client = ApiClient(
        person("pat", ("requester", production)).token("request", environments=[production])
    )
    hidden = client.post("/certificates", {"certificate": issue(ready_request).decode()})
    stranger_csr = crypto.build_csr(crypto.generate_private_key(), ACME)
    unknown = client.post(
        "/certificates",
        {"certificate": crypto.certificate_to_pem(local_ca.sign(stranger_csr)).decode()},
    )
    assert (hidden.status_code, unknown.status_code) == (400, 400)
    assert problem(hidden)["detail"] == problem(unknown)["detail"]
    assert f"#{ready_request.pk}" not in hidden.content.decode()
