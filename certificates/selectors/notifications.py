"""What the pages show of the notification channels (issue 18): each channel with its address
masked and its latest notification; the outbox's notification rows. Never an address or a
secret in clear, never a text that carries key material."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery

from certificates import crypto, notify, vault
from certificates.models import Environment, NotificationChannel, OutboundNotification

EVENT_LABELS = dict(NotificationChannel.Event.choices)
STATUS_LABELS = dict(OutboundNotification.Status.choices)


def masked_address(channel: NotificationChannel) -> str:
    """ "https://hooks.slack.com/…": the scheme and host of the sealed address."""
    try:
        url = vault.unseal_text(channel.target_sealed, bound_to=f"channel:{channel.kind}")
    except (vault.VaultError, ValueError):
        return "(cannot be read: its encryption key is missing)"
    return notify.mask(url)


@dataclass(frozen=True)
class ChannelRow:
    pk: int
    name: str
    kind: str
    kind_label: str
    address: str
    events: list[str]
    active: bool
    created_at: datetime
    signed: bool
    last_status: str
    last_status_label: str
    last_at: datetime | None


def channel_rows(environment: Environment) -> list[ChannelRow]:
    """The environment's channels, active first then by name, each with its latest
    notification's state, in one query."""
    latest = OutboundNotification.objects.filter(channel=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    channels = (
        NotificationChannel.objects.filter(environment=environment)
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_at=Subquery(latest.values("created_at")[:1]),
        )
        .order_by("-active", "name")
    )
    return [
        ChannelRow(
            pk=channel.pk,
            name=channel.name,
            kind=channel.kind,
            kind_label=channel.get_kind_display(),
            address=masked_address(channel),
            events=[EVENT_LABELS.get(event, event) for event in channel.events],
            active=channel.active,
            created_at=channel.created_at,
            signed=bool(channel.secret_sealed),
            last_status=channel.last_status or "",
            last_status_label=STATUS_LABELS.get(channel.last_status or "", ""),
            last_at=channel.last_at,
        )
        for channel in channels
    ]


def _withheld(text: str) -> str:
    if crypto.contains_private_key_material(text.encode("utf-8", "replace")):
        return "(withheld: it carries private-key material)"
    return text


@dataclass(frozen=True)
class NotificationRow:
    pk: int
    created_at: datetime
    sent_at: datetime | None
    channel: str
    channel_kind: str
    channel_active: bool
    environment: str
    event: str
    title: str
    status: str
    status_label: str
    attempts: int
    error: str


def notification_rows(rows: Iterable[OutboundNotification]) -> list[NotificationRow]:
    """The outbox page's rows (their channel and environment selected with them)."""
    return [
        NotificationRow(
            pk=row.pk,
            created_at=row.created_at,
            sent_at=row.sent_at,
            channel=row.channel.name,
            channel_kind=row.channel.get_kind_display(),
            channel_active=row.channel.active,
            environment=row.channel.environment.name,
            event=EVENT_LABELS.get(row.event, row.event),
            title=_withheld(row.title),
            status=row.status,
            status_label=row.get_status_display(),
            attempts=row.attempts,
            error=_withheld(row.last_error),
        )
        for row in rows
    ]
