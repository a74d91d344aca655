"""The audit log: recording an event, verifying the chain, signing a checkpoint.

See certificates/auditchain.py for what a link and a checkpoint cover and why.
"""

from __future__ import annotations

import json
import os
import pwd
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from certificates import auditchain
from certificates.models import AuditEvent, Environment

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest


def os_login() -> str:
    """The operating-system account running this process, from its effective uid.

    Not ``getpass.getuser()``, which believes $LOGNAME and $USER: ``USER=alice manage.py ...``
    would be recorded as alice. Under sudo, root is what acts and the invoking login (which
    only root could have faked) is added: ``root (sudo from alice)``.
    """
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        # A uid without a passwd entry (some containers).
        name = f"uid {uid}"
    sudo_user = os.environ.get("SUDO_USER", "")
    if uid == 0 and sudo_user and sudo_user != name:
        name = f"{name} (sudo from {sudo_user[:64]})"
    return name[:150]


@dataclass(frozen=True)
class Actor:
    """Who does something: a user (from a request, with their address), the CLI, or certdesk.

    ``origin`` says where the action came from (browser, cli, system) and ``os_user`` which
    operating-system login ran a command; both are recorded on every event. On the command
    line, ``--user`` scopes what the command may do; it does not authenticate (the OS login is
    the only identity the command line proves).
    """

    user: User | None = None
    ip: str | None = None
    label: str = ""
    origin: str = AuditEvent.Origin.SYSTEM
    os_user: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        # The address failed logins are counted against too (the proxy-aware one).
        from certificates.views.access import client_ip

        user = request.user
        return cls(
            user=user if isinstance(user, get_user_model()) else None,
            ip=client_ip(request),
            origin=AuditEvent.Origin.BROWSER,
        )

    @classmethod
    def browser(cls, *, user: User | None, ip: str | None) -> Actor:
        """A browser action known by its user and address (the first-run page, before login)."""
        return cls(user=user, ip=ip, origin=AuditEvent.Origin.BROWSER)

    @classmethod
    def cli(cls, user: User | None = None) -> Actor:
        """The command line: as ``user`` (``--user``), or as the server operator without it."""
        return cls(user=user, label="cli", origin=AuditEvent.Origin.CLI, os_user=os_login())

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """certdesk itself: the worker and the scheduler (beat)."""
        return cls(label=label, origin=AuditEvent.Origin.SYSTEM)

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
            origin=actor.origin,
            os_user=actor.os_user[:150],
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
        event.hash = auditchain.hash_of(event, key=audit_key())
        event.save(force_insert=True)
    return event


# Any constant: it names the one lock that serialises writers of the audit chain.
AUDIT_CHAIN_LOCK = 0x63647431


def audit_key() -> bytes:
    """The HMAC key of the chain (CERTDESK_AUDIT_KEY; checked when the settings load)."""
    return auditchain.decode_key(settings.CERTDESK_AUDIT_KEY)


@dataclass(frozen=True)
class ChainBreak:
    """One broken link: the event (None: past the end, the chain is shorter than a checkpoint)
    and what is wrong with it."""

    event_id: int | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    breaks: list[ChainBreak]
    checkpoint: auditchain.Checkpoint | None = None

    @property
    def intact(self) -> bool:
        return not self.breaks


LINK_BROKEN = (
    "its link to the previous event does not match: an event before it was deleted, inserted "
    "or altered"
)
CONTENT_BROKEN = (
    "its content does not match its HMAC: it was altered, or written, by someone without the "
    "audit key"
)


def audit_chain_verify(
    *, checkpoint: auditchain.Checkpoint | None = None, batch_size: int = 2000
) -> ChainReport:
    """Walk the chain in id order and report every broken link, not only the first.

    After a break the walk goes on from the event's stored hash, so that each place where the
    chain was touched is reported once. With a ``checkpoint`` (whose signature the caller has
    checked), the event at position ``checkpoint.count`` must carry ``checkpoint.head``, and
    the chain must be at least that long: deleting the newest events leaves links that verify,
    but not this.
    """
    key = audit_key()
    breaks: list[ChainBreak] = []
    expected_previous = auditchain.GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        checked += 1
        if event.previous_hash != expected_previous:
            breaks.append(ChainBreak(event.pk, LINK_BROKEN))
        if auditchain.hash_of(event, key=key) != event.hash:
            breaks.append(ChainBreak(event.pk, CONTENT_BROKEN))
        if checkpoint is not None and checked == checkpoint.count and event.hash != checkpoint.head:
            breaks.append(
                ChainBreak(
                    event.pk,
                    f"it is event number {checked} but does not carry the head of the checkpoint "
                    f"of {_when(checkpoint)}: events up to it were deleted, inserted or rewritten",
                )
            )
        expected_previous = event.hash
    if checkpoint is not None and checked < checkpoint.count:
        breaks.append(
            ChainBreak(
                None,
                f"the log holds {checked} events but the checkpoint of {_when(checkpoint)} "
                f"counted {checkpoint.count}: {checkpoint.count - checked} or more were deleted "
                "(truncation)",
            )
        )
    return ChainReport(checked=checked, breaks=breaks, checkpoint=checkpoint)


def _when(checkpoint: auditchain.Checkpoint) -> str:
    return checkpoint.at.strftime("%Y-%m-%d %H:%M:%S UTC")


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
