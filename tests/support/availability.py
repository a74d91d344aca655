"""Services a test may need (PostgreSQL, Redis, Chromium, openssl): skipped on a laptop that
lacks them, a failure under CI=true, where every one must be there."""

from __future__ import annotations

import os

import pytest

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_service(reason: str) -> None:
    """Skip on a laptop without the service; fail in CI, where every service must be there."""
    if CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)
