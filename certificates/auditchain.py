"""The audit log's hash chain: one definition, used to record, verify and backfill.

Changing anything here invalidates every recorded hash, so it never changes: a new scheme
would be a new version written beside this one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def event_hash(
    *,
    previous_hash: str,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    target_label: str,
    environment_id: int | None,
    ip: str | None,
    details: Any,
) -> str:
    """SHA-256 over an event's content and the previous event's hash."""
    content = {
        "previous_hash": previous_hash,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "target_label": target_label,
        "environment_id": environment_id,
        "ip": ip,
        "details": details,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def hash_of(event: Any) -> str:
    """The hash an AuditEvent row (model instance, historical or current) should carry."""
    return event_hash(
        previous_hash=event.previous_hash,
        created_at=event.created_at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        target_label=event.target_label,
        environment_id=event.environment_id,
        ip=event.ip,
        details=event.details,
    )
