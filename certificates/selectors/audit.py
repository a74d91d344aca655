"""Reading the audit log: verifying its chain (certificates/auditchain.py says what a link
covers and why), and the rows of its page and CSV export (actions in words, targets linked)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse

from certificates import auditchain
from certificates.audit_wording import action_words
from certificates.keyfiles import audit_key
from certificates.models import AuditEvent, SigningRequest


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


# --- the audit log page and its CSV export (issue 16) ----------------------------------------


@dataclass(frozen=True)
class AuditPerson:
    """Whom the "Person" filter names: an account (its events under any name it had), or only
    a label events carry (cli, system, expiry scan...)."""

    label: str
    user_id: int | None


def audit_person(name: str, events: QuerySet[AuditEvent]) -> AuditPerson | None:
    """The person called ``name`` (any case) among the accounts, or among the labels of
    ``events`` (what the reader may see); None if nobody is. One or two queries."""
    user = get_user_model().objects.filter(username__iexact=name).first()
    if user is not None:
        return AuditPerson(label=user.get_username(), user_id=user.pk)
    if events.filter(actor_label__iexact=name).exists():
        return AuditPerson(label=name, user_id=None)
    return None


def audit_people_names() -> list[str]:
    """The names the Person filter suggests: every account's, and certdesk's own actors."""
    names = list(get_user_model().objects.order_by("username").values_list("username", flat=True))
    return [*names, "cli", "system"]


@dataclass(frozen=True)
class AuditLink:
    text: str
    url: str


@dataclass(frozen=True)
class AuditRow:
    """One event as the page shows it: its action in words, and what it is about, linked."""

    event: AuditEvent
    words: str
    target: AuditLink | None

    @property
    def details(self) -> list[tuple[str, str]]:
        return list(detail_items(self.event.details))


def _target_link(
    event: AuditEvent, *, request_of_key: dict[str, int], administrator: bool
) -> AuditLink | None:
    """Where the event's target lives, for a reader: the request, the certificate, or (for
    administrators, who manage people) the person. Other targets are shown without a link."""
    kind, target_id = event.target_type, event.target_id
    if not target_id.isdecimal():
        return None
    if kind == "signingrequest":
        return AuditLink(f"Request #{target_id}", reverse("request_detail", args=[target_id]))
    if kind == "certificate":
        return AuditLink(
            f"Certificate #{target_id}", reverse("certificate_detail", args=[target_id])
        )
    if kind == "key" and target_id in request_of_key:
        request_id = request_of_key[target_id]
        return AuditLink(f"Request #{request_id}", reverse("request_detail", args=[request_id]))
    if not administrator:
        return None
    environment = event.environment if event.environment_id is not None else None
    if kind == "user":
        return AuditLink("People", reverse("settings_people"))
    if kind == "membership" and environment is not None:
        return AuditLink(
            f"Members of {environment.name}", reverse("settings_members", args=[environment.slug])
        )
    if kind == "environment" and environment is not None and str(environment.pk) == target_id:
        return AuditLink(
            f"{environment.name} settings",
            reverse("settings_environment_edit", args=[environment.slug]),
        )
    if kind == "companyprofile":
        return AuditLink("Company profile", reverse("settings_company"))
    if kind == "outboundemail":
        return AuditLink("Outbox", reverse("outbox"))
    return None


def audit_rows(events: Iterable[AuditEvent], *, administrator: bool) -> list[AuditRow]:
    """The page's rows, in one query more at most (the requests of the keys named)."""
    events = list(events)
    key_ids = [e.target_id for e in events if e.target_type == "key" and e.target_id.isdecimal()]
    request_of_key = (
        {
            str(key_id): pk
            for key_id, pk in SigningRequest.objects.filter(key_id__in=key_ids).values_list(
                "key_id", "pk"
            )
        }
        if key_ids
        else {}
    )
    return [
        AuditRow(
            event=event,
            words=action_words(event.action),
            target=_target_link(event, request_of_key=request_of_key, administrator=administrator),
        )
        for event in events
    ]


def detail_items(details: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``details`` as (key, value) text pairs, nested keys dotted, lists joined: a page shows
    "reason: superseded", never a raw dict. The template escapes both halves."""
    if isinstance(details, dict):
        for key, value in details.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                yield from detail_items(value, prefix=f"{name}.")
            else:
                yield name, _detail_text(value)
    elif details not in (None, "", [], {}):
        yield prefix.rstrip(".") or "details", _detail_text(details)


def _detail_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_detail_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_detail_text(item)}" for key, item in value.items()) or "—"
    return str(value)


AUDIT_CSV_HEADER = (
    "Time (UTC)",
    "Person",
    "From",
    "OS user",
    "Action",
    "Action code",
    "Target",
    "Target type",
    "Target id",
    "Environment",
    "IP",
    "Details",
)

# Rows read from the database at a time while an export streams.
EXPORT_CHUNK = 500


def audit_csv_rows(events: QuerySet[AuditEvent]) -> Iterator[list[str]]:
    """The export's rows, read ``EXPORT_CHUNK`` at a time: a large log never sits in memory."""
    for event in events.select_related("environment").iterator(chunk_size=EXPORT_CHUNK):
        yield [
            event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            event.actor_label,
            event.get_origin_display() if event.origin else "",
            event.os_user,
            action_words(event.action),
            event.action,
            event.target_label,
            event.target_type,
            event.target_id,
            event.environment.name if event.environment is not None else "",
            event.ip or "",
            "; ".join(f"{key}: {value}" for key, value in detail_items(event.details)),
        ]
