"""Shared fixtures. Real PostgreSQL and Redis are used when their variables are set; a test that
needs a missing service is skipped with the reason, except under CI=true, where it fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis as redis_lib
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client

from certificates import crypto
from certificates.models import Environment, Membership, SigningRequest
from tests.support.availability import missing_service
from tests.support.environments import migrated_environment, trusting
from tests.support.testca import LocalCA

CHROMIUM = os.environ.get("CERTDESK_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        missing_service("REDIS_URL is not set: this test needs a real Redis server")
    try:
        redis_lib.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis_lib.RedisError as error:
        missing_service(f"Redis at {url} does not answer ({error})")
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        missing_service(f"{CHROMIUM} is missing: install Debian's chromium for browser tests")
    return CHROMIUM


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        missing_service("DATABASE_URL does not point at PostgreSQL: this test needs it")


@pytest.fixture
def admin_user(db: None) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "correct horse battery")


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


# --- domain fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_ca() -> LocalCA:
    """A local CA playing Treezor: it signs certdesk's CSRs (root only, no intermediate)."""
    return LocalCA.create()


@pytest.fixture
def sandbox(db: None, local_ca: LocalCA) -> Environment:
    return trusting(migrated_environment("Sandbox"), local_ca)


@pytest.fixture
def production(db: None, local_ca: LocalCA) -> Environment:
    return trusting(migrated_environment("Production"), local_ca)


@pytest.fixture
def make_member(db: None) -> Callable[[str, Environment], User]:
    """A user holding ``role`` in ``environment`` only."""

    def make(role: str, environment: Environment) -> User:
        user = User.objects.create_user(f"{role}-{environment.slug}-{User.objects.count()}")
        Membership.objects.create(user=user, environment=environment, role=role)
        return user

    return make


@pytest.fixture
def issue(local_ca: LocalCA) -> Callable[..., bytes]:
    """Sign a request's CSR with the local CA and return the certificate PEM (Treezor's reply)."""

    def sign(request: SigningRequest, **kwargs: object) -> bytes:
        csr = crypto.parse_csr(request.csr_pem.encode("ascii"))
        return crypto.certificate_to_pem(local_ca.sign(csr, **kwargs))  # type: ignore[arg-type]

    return sign


def _forget_rate_limits() -> None:
    """allauth's rate limits (password-reset emails, confirmations) count in the cache, which
    outlives each test's database. The local-memory cache is emptied; a Redis cache (CI) loses
    only allauth's counters, since the broker's bindings may share its database."""
    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is None:
        cache.clear()
        return
    redis_client = client(write=True)
    for key in redis_client.scan_iter(match="*allauth:rl:*"):
        redis_client.delete(key)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    _forget_rate_limits()
    yield
    _forget_rate_limits()


@pytest.fixture(autouse=True)
def _guarded_mail(settings: Any) -> None:
    """Django's test runner swaps EMAIL_BACKEND for the in-memory one; put the outgoing guard
    back in front of it, so tests see what production sends (and refuses)."""
    settings.CERTDESK_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_BACKEND = "certificates.mailbackend.GuardedEmailBackend"


@pytest.fixture
def member_client(make_member: Callable[[str, Environment], User]) -> Callable[..., Client]:
    """A logged-in client of a user holding ``role`` in ``environment``."""

    def login(role: str, environment: Environment) -> Client:
        client = Client()
        client.force_login(make_member(role, environment))
        return client

    return login
