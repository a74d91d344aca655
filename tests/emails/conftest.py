"""Fixtures of the email tests: an environment with a TAM and a team, a person who sends, and
the outbox delivered at commit (eagerly, through the outgoing guard, into ``mail.outbox``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import crypto
from certificates.models import CompanyProfile, Environment, Membership, Profile

TAM = "tam@treezor.example"
TEAM = ["pki-team@acme.example", "ops@acme.example"]


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.CERTDESK_SITE_URL = "https://certdesk.acme.example"


@pytest.fixture
def production(production: Environment) -> Environment:
    """Production with its TAM and two team addresses; copying the team is on (the default)."""
    production.tam_emails = [TAM]
    production.team_emails = list(TEAM)
    production.save()
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    return production


@pytest.fixture
def alice(production: Environment) -> User:
    """A custodian of Production (custodians may request too) who filled in her profile."""
    user = User.objects.create_user(
        "alice", "alice@acme.example", first_name="Alice", last_name="Martin"
    )
    Membership.objects.create(user=user, environment=production, role="custodian")
    Profile.objects.create(user=user, phone="+33 1 23 45 67 89")
    return user


@pytest.fixture
def delivered(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Callable[..., Any]:
    """Run ``action(**kwargs)`` and let its commit queue (and, eagerly, send) its emails."""

    def run(action: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return action(**kwargs)

    return run


@pytest.fixture(scope="session")
def rsa_key_pem() -> str:
    """A private key as someone would paste it (PKCS#1 PEM)."""
    return crypto.private_key_to_pem(crypto.generate_private_key()).decode("ascii")
