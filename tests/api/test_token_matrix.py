"""Every API operation against every kind of token: the role matrix of the browser
(tests/security/test_role_matrix.py), extended to tokens.

The operations come from the API's own schema, so a new operation without a line in ``MATRIX``
fails ``test_every_operation_has_an_expectation``.

Who calls, in order (``TOKENS``): no token; a Sandbox viewer's ``read`` token; a Sandbox
requester's ``read`` + ``request``; a Sandbox custodian's three scopes; the same custodian's
``read``-only token; a Production custodian's three scopes for Production, who must get nothing
of Sandbox; an administrator's three scopes for both. Expected answers: 401 without a token, 403
for a scope the token lacks or a role too low, 404 for an object of an environment the token
may not see, and the operation's answer when allowed. The writes are sent with input their
service refuses (400), so that each visitor finds the same world; nothing is ever a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from certificates import services
from certificates.api import api
from certificates.models import Environment, Membership, Role
from certificates.services import Actor
from certificates.services.revocations import revocation_request
from tests.support.api import ApiClient, Person
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

TOKENS = (
    "none",
    "viewer",
    "requester",
    "custodian",
    "custodian_read_only",
    "production_custodian",
    "admin",
)
OUTSIDERS = ("production_custodian",)

# A Sandbox object: readers see it, the Production custodian gets 404.
READ = ("401", "200", "200", "200", "200", "404", "200")
# A list: the Production custodian sees Production's (none of Sandbox).
LIST = ("401", "200", "200", "200", "200", "200", "200")
# A Sandbox write of the request scope, refused by its service (400) once allowed.
REQUEST = ("401", "403", "400", "400", "403", "404", "400")
# A Sandbox custody action, refused by its service (400) once allowed.
CUSTODY = ("401", "403", "403", "400", "403", "404", "400")
# A key export, which the service grants.
KEY = ("401", "403", "403", "200", "403", "404", "200")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # formatted with the World's ids
    answers: tuple[str, ...]  # one per TOKENS
    body: Any = None


MATRIX: dict[str, Case] = {
    "GET /api/v1/environments": Case("GET", "/environments", LIST),
    "GET /api/v1/certificates": Case("GET", "/certificates", LIST),
    "GET /api/v1/certificates/{certificate_id}": Case("GET", "/certificates/{certificate}", READ),
    # A certificate whose request has one already: "uploaded already". The upload names no
    # object: to the Production custodian, no request of theirs has this key (400, as in the
    # browser), which says nothing of Sandbox.
    "POST /api/v1/certificates": Case(
        "POST",
        "/certificates",
        ("401", "403", "400", "400", "403", "400", "400"),
        body={"certificate": "{certificate_pem}"},
    ),
    # A compromise suspected since tomorrow: refused on its field.
    "POST /api/v1/certificates/{certificate_id}/compromise": Case(
        "POST",
        "/certificates/{certificate}/compromise",
        CUSTODY,
        body={"suspected_since": "{tomorrow}"},
    ),
    # Confirmed before it was asked: refused.
    "POST /api/v1/certificates/{certificate_id}/revocation/confirm": Case(
        "POST",
        "/certificates/{revoking}/revocation/confirm",
        CUSTODY,
        body={"confirmed_on": "2000-01-01"},
    ),
    "POST /api/v1/certificates/{certificate_id}/key": Case(
        "POST", "/certificates/{certificate}/key", KEY, body={"format": "pem"}
    ),
    "GET /api/v1/requests": Case("GET", "/requests", LIST),
    "GET /api/v1/requests/{request_id}": Case("GET", "/requests/{ready}", READ),
    # An invalid subject: refused with its fields.
    "POST /api/v1/requests": Case(
        "POST",
        "/requests",
        REQUEST,
        body={
            "environment": "sandbox",
            "purpose": "mtls",
            "subject": {**ACME.as_dict(), "country": "ZZ"},
        },
    ),
    # No reason: refused.
    "POST /api/v1/requests/{request_id}/cancel": Case(
        "POST", "/requests/{ready}/cancel", REQUEST, body={"reason": ""}
    ),
    "POST /api/v1/requests/{request_id}/key": Case(
        "POST", "/requests/{ready}/key", KEY, body={"format": "pem"}
    ),
    # A fulfilled request cannot be sent.
    "POST /api/v1/environments/{slug}/send": Case(
        "POST", "/environments/sandbox/send", REQUEST, body={"requests": ["{fulfilled}"]}
    ),
}


def test_every_operation_has_an_expectation() -> None:
    operations = [
        f"{method.upper()} {path}"
        for path, methods in api.get_openapi_schema(path_prefix="/api/v1")["paths"].items()
        for method in methods
    ]
    assert sorted(operations) == sorted(MATRIX)


@dataclass
class World:
    clients: dict[str, ApiClient]
    ids: dict[str, Any]
    sandbox_secrets: list[str]


@pytest.fixture
def world(
    person: Callable[..., Person],
    sandbox: Environment,
    production: Environment,
    issue: Callable[..., bytes],
) -> World:
    subject = replace(ACME, common_name="sandbox-only.example.com")
    fulfilled = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=subject
    )
    certificate = services.certificate_upload(actor=Actor.cli(), data=issue(fulfilled)).certificate
    ready = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=subject
    )
    signature = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="signature", subject=subject
    )
    revoking = services.certificate_upload(actor=Actor.cli(), data=issue(signature)).certificate
    revocation_request(actor=Actor.cli(), certificate=revoking, reason="superseded")
    scopes = ("read", "request", "custody")

    def token(name: str, role: str | None, *chosen: str, envs: list[Environment]) -> ApiClient:
        user = User.objects.filter(username=name).first()
        if user is None:
            user = (
                User.objects.create_superuser(name, f"{name}@example.com", "x" * 20)
                if role is None
                else User.objects.create_user(name, f"{name}@example.com")
            )
            for environment in envs:
                if role is not None:
                    Membership.objects.create(user=user, environment=environment, role=role)
        return ApiClient(
            Person(user).token(*chosen, environments=envs, name=f"{name}-{len(chosen)}")
        )

    clients = {
        "none": ApiClient(None),
        "viewer": token("viewer", Role.VIEWER, "read", envs=[sandbox]),
        "requester": token("requester", Role.REQUESTER, "read", "request", envs=[sandbox]),
        "custodian": token("custodian", Role.CUSTODIAN, *scopes, envs=[sandbox]),
        "custodian_read_only": token("custodian", Role.CUSTODIAN, "read", envs=[sandbox]),
        "production_custodian": token("prodcustodian", Role.CUSTODIAN, *scopes, envs=[production]),
        "admin": token("boss", None, *scopes, envs=[sandbox, production]),
    }
    return World(
        clients=clients,
        ids={
            "certificate": certificate.pk,
            "certificate_pem": certificate.pem,
            "revoking": revoking.pk,
            "ready": ready.pk,
            "fulfilled": fulfilled.pk,
            "tomorrow": f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d}",
        },
        sandbox_secrets=["sandbox-only.example.com", certificate.serial],
    )


def _filled(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdecimal() else filled
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, ids) for item in value]
    return value


@pytest.mark.parametrize("operation", list(MATRIX))
def test_token_matrix(world: World, operation: str, settings: Any) -> None:
    """Each token gets exactly the expected answer; the outsider's answers show nothing of
    Sandbox. All mismatches of an operation are reported together."""
    settings.CERTDESK_API_RATE_LIMIT = 0
    case = MATRIX[operation]
    assert len(case.answers) == len(TOKENS)
    path = case.path.format(**world.ids)
    wrong = []
    for name, expected in zip(TOKENS, case.answers, strict=True):
        client = world.clients[name]
        if case.method == "POST":
            response = client.post(path, _filled(case.body, world.ids))
        else:
            response = client.get(path)
        if str(response.status_code) != expected:
            wrong.append(f"{name}: expected {expected}, got {response.status_code}")
        elif name in OUTSIDERS and response.status_code == 200:
            leaked = [s for s in world.sandbox_secrets if s.encode() in response.content]
            if leaked:
                wrong.append(f"{name}: a 200 that shows Sandbox's {leaked}")
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json", (name, operation)
    assert wrong == [], f"{operation}:\n" + "\n".join(wrong)
