"""The audit log: recording an event and signing a checkpoint (verifying the chain is a read:
certificates/selectors/audit.py).

See certificates/auditchain.py for what a link and a checkpoint cover and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from certificates import auditchain

# Actor lives below the services; most callers import it from here with audit_record.
from certificates.actors import Actor as Actor
from certificates.actors import os_login as os_login
from certificates.keyfiles import audit_key
from certificates.models import AuditEvent, Environment


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
    entry = AuditEntry(
        actor=actor, action=action, target=target, environment=environment, details=details
    )
    return audit_record_many([entry])[0]


@dataclass(frozen=True)
class AuditEntry:
    """One event to record with :func:`audit_record_many` (the arguments of audit_record)."""

    actor: Actor
    action: str
    target: models.Model | None = None
    environment: Environment | None = None
    details: dict[str, Any] | None = None


def audit_record_many(entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """Append these events in their order, each chained to the one before, under one lock and
    in one insert (the expiry scan records hundreds at once; see :func:`audit_record`)."""
    if not entries:
        return []
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        previous = previous or auditchain.GENESIS_HASH
        key = audit_key()
        events: list[AuditEvent] = []
        for entry in entries:
            actor, target = entry.actor, entry.target
            event = AuditEvent(
                actor=actor.user if actor.user is not None and actor.user.pk else None,
                actor_label=actor.name,
                origin=actor.origin,
                os_user=actor.os_user[:150],
                action=entry.action,
                target_type=target._meta.model_name or "" if target is not None else "",
                target_id=str(target.pk) if target is not None else "",
                target_label=str(target)[:255] if target is not None else "",
                environment=entry.environment,
                ip=actor.ip,
                created_at=timezone.now(),
                # What is hashed is what the database gives back, so verification reads the same.
                details=json.loads(json.dumps(entry.details or {}, default=str)),
                previous_hash=previous,
            )
            event.hash = previous = auditchain.hash_of(event, key=key)
            events.append(event)
        # Ids grow in list order (one INSERT, one sequence): the chain's order is the id order.
        AuditEvent.objects.bulk_create(events)
    return events


# Any constant: it names the one lock that serialises writers of the audit chain.
AUDIT_CHAIN_LOCK = 0x63647431


def audit_checkpoint_sign() -> auditchain.Checkpoint:
    """A signed checkpoint of the chain as it stands: its length and its last hash."""
    # The head first, then what precedes it: writers are serialised and ids grow in commit
    # order, so an event recorded meanwhile has a larger id and is in neither figure.
    last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    if last is None:
        count, head = 0, auditchain.GENESIS_HASH
    else:
        count, head = AuditEvent.objects.filter(id__lte=last[0]).count(), last[1]
    return auditchain.checkpoint_sign(key=audit_key(), count=count, head=head, at=timezone.now())
