from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import models

from certificates.models import AuditEvent, Environment

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest


@dataclass(frozen=True)
class Actor:
    """Who does something: a user (from a request, with their address), the CLI, or certdesk."""

    user: User | None = None
    ip: str | None = None
    label: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = request.user
        return cls(
            user=user if isinstance(user, get_user_model()) else None,
            ip=request.META.get("REMOTE_ADDR") or None,
        )

    @classmethod
    def cli(cls) -> Actor:
        return cls(label="cli")

    @classmethod
    def system(cls) -> Actor:
        return cls(label="system")

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return self.label or "system"


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    environment: Environment | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. ``details`` must never hold key material: callers pass ids,
    fingerprints and names only."""
    return AuditEvent.objects.create(
        actor=actor.user if actor.user is not None and actor.user.pk else None,
        actor_label=actor.name,
        action=action,
        target_type=target._meta.model_name or "" if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        environment=environment,
        ip=actor.ip,
        details=details or {},
    )
