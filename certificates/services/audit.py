from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from certificates import auditchain
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
        # The address failed logins are counted against too (the proxy-aware one).
        from certificates.views.access import client_ip

        user = request.user
        return cls(user=user if isinstance(user, get_user_model()) else None, ip=client_ip(request))

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
    """Append one audit event, chained to the previous one by its hash (tamper evidence).

    ``details`` must never hold key material: callers pass ids, fingerprints and names only.
    The chain needs one writer at a time: a transaction-scoped advisory lock on PostgreSQL;
    SQLite transactions already begin IMMEDIATE, which serialises writers (see settings).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            actor=actor.user if actor.user is not None and actor.user.pk else None,
            actor_label=actor.name,
            action=action,
            target_type=target._meta.model_name or "" if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            target_label=str(target)[:255] if target is not None else "",
            environment=environment,
            ip=actor.ip,
            created_at=timezone.now(),
            details=details or {},
            previous_hash=previous or auditchain.GENESIS_HASH,
        )
        # What is hashed is what the database gives back, so verification reads the same.
        event.details = json.loads(json.dumps(event.details, default=str))
        event.hash = auditchain.hash_of(event)
        event.save(force_insert=True)
    return event


# Any constant: it names the one lock that serialises writers of the audit chain.
AUDIT_CHAIN_LOCK = 0x63647431


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    problem: str


def audit_chain_verify(*, batch_size: int = 2000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in id order; return how many events were checked and the first break."""
    expected_previous = auditchain.GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.previous_hash != expected_previous:
            return checked, ChainBreak(
                event.pk,
                "its link to the previous event does not match: an event before it was "
                "deleted, inserted or altered",
            )
        if auditchain.hash_of(event) != event.hash:
            return checked, ChainBreak(
                event.pk, "its content does not match its hash: it was altered after recording"
            )
        expected_previous = event.hash
        checked += 1
    return checked, None
