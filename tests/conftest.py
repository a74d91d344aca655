"""Shared fixtures. Real PostgreSQL and Redis are used when their variables are set; a test that
needs a missing service is skipped with the reason, except under CI=true, where it fails."""

from __future__ import annotations

import os
import shutil

import pytest
import redis as redis_lib
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CERTDESK_CHROMIUM", "/usr/bin/chromium")


def missing_service(reason: str) -> None:
    """Skip on a laptop without the service; fail in CI, where every service must be there."""
    if CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


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
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing_service("DATABASE_URL does not point at PostgreSQL: this test needs it")


@pytest.fixture
def admin_user(db: None) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "correct horse battery")


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client
