"""Calling certdesk's REST API in tests: a client that sends a token, a person who makes
tokens, and the shape of a problem (RFC 9457) answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from certificates.models import Environment
from certificates.services import Actor
from certificates.services.api_tokens import api_token_create


class ApiClient:
    """A test client that sends ``Authorization: Bearer <secret>`` (or nothing) and JSON."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client(raise_request_exception=False)
        self.secret = secret

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        sent = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**sent, **(headers or {})}

    def get(self, path: str, data: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get("/api/v1" + path, data or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            "/api/v1" + path,
            body if body is not None else {},
            content_type="application/json",
            headers=self._headers(headers),
        )


@dataclass
class Person:
    user: User

    def token(
        self,
        *scopes: str,
        environments: Sequence[Environment],
        name: str | None = None,
        days: int = 30,
    ) -> str:
        new = api_token_create(
            actor=Actor.cli(),
            user=self.user,
            name=name or f"token-{'-'.join(scopes)}-{timezone.now().timestamp()}",
            environments=list(environments),
            scopes=list(scopes),
            expires_on=timezone.localdate() + timedelta(days=days),
        )
        return new.secret

    def client(self, *scopes: str, environments: Sequence[Environment]) -> ApiClient:
        return ApiClient(self.token(*scopes, environments=environments))


def problem(response: Any) -> dict[str, Any]:
    """The problem details of an error answer, checked for RFC 9457's shape."""
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    return body
