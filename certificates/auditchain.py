"""The audit log's chain and its checkpoints: one definition, used to record, verify and migrate.

Each event's ``hash`` is an HMAC-SHA256, under ``CERTDESK_AUDIT_KEY`` (kept outside the
database), of its content and the previous event's hash. Someone who can write the database
but does not hold the key can neither alter an event nor recompute the chain after deleting or
rewriting some: every link they touch stops verifying.

What the link covers: who acted as text (``actor_label``), where the action came from
(``origin``: browser, cli or system; ``os_user``: the operating-system login of a command),
the action, its target, environment, address, details and time. Never ``actor_id``: deleting a
user sets it to NULL, which must not break the chain.

A *checkpoint* (``count``, ``head``, time, HMAC over them) is exported on a schedule to places a
database writer cannot rewrite (the log stream, the administrators' mailboxes). Verifying against
the latest one detects truncation: deleting the newest events leaves a chain whose remaining
links verify, but not one as long as the checkpoint, or not ending in its head.

Changing anything here invalidates every recorded hash: a new scheme is a new function written
beside these and a migration that rehashes (as 0007 did from :func:`legacy_sha256_hash_of`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
# A key shorter than this (decoded) is refused: the HMAC is only as strong as its key.
AUDIT_KEY_MIN_BYTES = 32


class AuditKeyError(ValueError):
    """CERTDESK_AUDIT_KEY is not a usable key."""


def decode_key(text: str) -> bytes:
    """The bytes of a CERTDESK_AUDIT_KEY value (urlsafe base64 of at least 32 bytes)."""
    value = text.strip()
    if not value:
        raise AuditKeyError("CERTDESK_AUDIT_KEY is not set")
    try:
        key = base64.urlsafe_b64decode(value.encode("ascii") + b"=" * (-len(value) % 4))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise AuditKeyError("CERTDESK_AUDIT_KEY is not urlsafe base64") from None
    if len(key) < AUDIT_KEY_MIN_BYTES:
        raise AuditKeyError(
            f"CERTDESK_AUDIT_KEY holds {len(key)} bytes; use at least {AUDIT_KEY_MIN_BYTES}"
        )
    return key


def _canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def event_hash(
    *,
    key: bytes,
    previous_hash: str,
    created_at: datetime,
    actor_label: str,
    origin: str,
    os_user: str,
    action: str,
    target_type: str,
    target_id: str,
    target_label: str,
    environment_id: int | None,
    ip: str | None,
    details: Any,
) -> str:
    """HMAC-SHA256 under ``key`` over an event's content and the previous event's hash."""
    content = {
        "scheme": "hmac-sha256-v2",
        "previous_hash": previous_hash,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "actor_label": actor_label,
        "origin": origin,
        "os_user": os_user,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "target_label": target_label,
        "environment_id": environment_id,
        "ip": ip,
        "details": details,
    }
    return hmac.new(key, _canonical(content), hashlib.sha256).hexdigest()


def hash_of(event: Any, *, key: bytes) -> str:
    """The hash an AuditEvent row (model instance, historical or current) should carry."""
    return event_hash(
        key=key,
        previous_hash=event.previous_hash,
        created_at=event.created_at,
        actor_label=event.actor_label,
        origin=event.origin,
        os_user=event.os_user,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        target_label=event.target_label,
        environment_id=event.environment_id,
        ip=event.ip,
        details=event.details,
    )


def legacy_sha256_hash_of(event: Any) -> str:
    """The first scheme (migration 0005, replaced by 0007): plain SHA-256 with ``actor_id``.

    Kept only so that the migrations can build and check the chain as it was; never for new
    events: anyone who can write the database can recompute it.
    """
    content = {
        "previous_hash": event.previous_hash,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "environment_id": event.environment_id,
        "ip": event.ip,
        "details": event.details,
    }
    return hashlib.sha256(_canonical(content)).hexdigest()


# --- checkpoints ------------------------------------------------------------------------------

CHECKPOINT_PREFIX = "certdesk-audit-checkpoint"
_CHECKPOINT = re.compile(
    re.escape(CHECKPOINT_PREFIX) + r" v1 count=(?P<count>\d{1,18}) head=(?P<head>[0-9a-f]{64})"
    r" at=(?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00) hmac=(?P<hmac>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Checkpoint:
    """How long the chain was (``count`` events) and its last hash (``head``) at ``at``."""

    count: int
    head: str
    at: datetime
    signature: str

    @property
    def text(self) -> str:
        """One line, the form exported to the log and by email and read back by the verifier."""
        return (
            f"{CHECKPOINT_PREFIX} v1 count={self.count} head={self.head} "
            f"at={_checkpoint_time(self.at)} hmac={self.signature}"
        )


def _checkpoint_time(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def _checkpoint_signature(key: bytes, count: int, head: str, at: datetime) -> str:
    # Its own prefix and layout: a checkpoint signature can never pass for an event's link,
    # whose HMAC input is a JSON object.
    message = f"{CHECKPOINT_PREFIX}\nv1\n{count}\n{head}\n{_checkpoint_time(at)}"
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def checkpoint_sign(*, key: bytes, count: int, head: str, at: datetime) -> Checkpoint:
    at = at.astimezone(UTC).replace(microsecond=0)
    return Checkpoint(count, head, at, _checkpoint_signature(key, count, head, at))


def checkpoint_parse(text: str) -> Checkpoint | None:
    """The last checkpoint written in ``text`` (a pasted line, an email, a log file), or None."""
    found = None
    for match in _CHECKPOINT.finditer(text):
        found = match
    if found is None:
        return None
    return Checkpoint(
        count=int(found["count"]),
        head=found["head"],
        at=datetime.fromisoformat(found["at"]),
        signature=found["hmac"],
    )


def checkpoint_signed_by(checkpoint: Checkpoint, key: bytes) -> bool:
    """Whether ``checkpoint`` was made with ``key`` and not altered since."""
    expected = _checkpoint_signature(key, checkpoint.count, checkpoint.head, checkpoint.at)
    return hmac.compare_digest(expected, checkpoint.signature)
