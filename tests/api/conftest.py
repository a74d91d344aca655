"""The API's fixtures: people with roles, their tokens, and a client that sends a token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from django.contrib.auth.models import User

from certificates import services
from certificates.models import Certificate, Environment, Membership, SigningRequest
from certificates.services import Actor
from tests.support.api import ApiClient, Person
from tests.support.subjects import ACME


@pytest.fixture
def person(db: None) -> Callable[..., Person]:
    """A person named ``name`` with ``role`` in each environment given (or an administrator)."""

    def make(name: str, *roles: tuple[str, Environment], admin: bool = False) -> Person:
        if admin:
            user = User.objects.create_superuser(name, f"{name}@example.com", "x" * 20)
        else:
            user = User.objects.create_user(name, f"{name}@example.com", "x" * 20)
        for role, environment in roles:
            Membership.objects.create(user=user, environment=environment, role=role)
        return Person(user)

    return make


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient(None)


@pytest.fixture
def ready_request(sandbox: Environment) -> SigningRequest:
    return services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )


@pytest.fixture
def installed(sandbox: Environment, issue: Callable[..., bytes]) -> Certificate:
    """A Sandbox mTLS certificate in service, with its key held by certdesk."""
    signing_request = services.request_create(
        actor=Actor.cli(),
        environment=sandbox,
        purpose="mtls",
        subject=replace(ACME, common_name="api.acme.example"),
    )
    return services.certificate_upload(actor=Actor.cli(), data=issue(signing_request)).certificate
