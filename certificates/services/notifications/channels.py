"""Administrators' notification channels: add, change, deactivate, reactivate, test.

A channel's address (a Slack or Teams webhook address is enough to post there) and a webhook's
signing secret are sealed by the vault (``bound_to="channel:<kind>"``): never stored, shown,
logged or audited in clear. The audit records the kind, name, events and the address masked
("https://hooks.slack.com/…"). A webhook's secret is made here and shown once, in the answer to
the form that made it. Channels are never deleted (their past notifications keep pointing at
them): a channel no longer wanted is deactivated, and what it had not sent yet is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from certificates import notify, vault
from certificates.models import Environment, NotificationChannel, OutboundNotification
from certificates.services.admin_checks import control_character_problem, require_administrator
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.notifications.delivery import DEACTIVATED, bound_to
from certificates.services.notifications.events import Event, absolute, notifications_queue
from certificates.services.notifications.guard import carries_key_material

Kind = NotificationChannel.Kind
EventType = NotificationChannel.Event
# The events a channel may choose (the test message goes to one channel when asked).
CHOOSABLE_EVENTS = [value for value in EventType.values if value != EventType.TEST]


@dataclass(frozen=True)
class CreatedChannel:
    channel: NotificationChannel
    # The webhook's signing secret, to show once; empty for Slack and Teams.
    secret: str = ""


def _checked(
    *,
    environment: Environment,
    name: str,
    events: Sequence[str],
    kind: str,
    url: str | None,
    channel: NotificationChannel | None = None,
) -> tuple[str, list[str]]:
    problems: dict[str, str] = {}
    name = name.strip()
    if not name:
        problems["name"] = "Give the channel a name, such as “#certificates”."
    elif len(name) > 100:
        problems["name"] = "The name is 100 characters at most."
    elif (problem := control_character_problem(name, label="The name")) is not None:
        problems["name"] = problem
    elif (
        NotificationChannel.objects.filter(environment=environment, name=name)
        .exclude(pk=channel.pk if channel is not None else 0)
        .exists()
    ):
        problems["name"] = f"{environment.name} already has a channel named “{name}”."
    unknown = [event for event in events if event not in CHOOSABLE_EVENTS]
    if unknown:
        problems["events"] = f"Unknown events: {', '.join(unknown)}."
    if kind not in Kind.values:
        problems["kind"] = "Choose Slack, Microsoft Teams or a webhook."
    elif url is not None:
        if carries_key_material(url):
            problems["url"] = "This is private-key material, not an address; it was not stored."
        elif (problem := notify.target_problem(kind, url)) is not None:
            problems["url"] = problem
    if problems:
        raise ServiceError.of(problems)
    return name, [event for event in CHOOSABLE_EVENTS if event in events]


@sensitive_variables("url", "secret")
def notification_channel_create(
    *,
    actor: Actor,
    environment: Environment,
    kind: str,
    name: str,
    url: str,
    events: Sequence[str],
) -> CreatedChannel:
    """A new channel of ``environment``: its address sealed; a webhook gets a new signing
    secret, sealed too and returned once. Audited ``notification_channel.created``."""
    require_administrator(actor)
    name, chosen = _checked(environment=environment, name=name, events=events, kind=kind, url=url)
    url = url.strip()
    secret = notify.new_secret() if kind == Kind.WEBHOOK else ""
    try:
        with transaction.atomic():
            channel = NotificationChannel.objects.create(
                environment=environment,
                name=name,
                kind=kind,
                target_sealed=vault.seal_text(url, bound_to=bound_to(kind)),
                secret_sealed=vault.seal_text(secret, bound_to=bound_to(kind)) if secret else "",
                events=chosen,
            )
            audit_record(
                actor=actor,
                action="notification_channel.created",
                target=channel,
                environment=environment,
                details={
                    "name": name,
                    "kind": kind,
                    "address": notify.mask(url),
                    "events": chosen,
                    "signed": bool(secret),
                },
            )
    except IntegrityError:
        raise ServiceError(
            f"{environment.name} already has a channel named “{name}”.", field="name"
        ) from None
    return CreatedChannel(channel=channel, secret=secret)


@sensitive_variables("url")
def notification_channel_update(
    *,
    actor: Actor,
    channel: NotificationChannel,
    name: str,
    events: Sequence[str],
    url: str = "",
) -> NotificationChannel:
    """Rename a channel, choose its events again, or replace its address (blank: kept).
    Audited ``notification_channel.changed`` with what changed (the address masked)."""
    require_administrator(actor)
    new_url = url.strip() or None
    name, chosen = _checked(
        environment=channel.environment,
        name=name,
        events=events,
        kind=channel.kind,
        url=new_url,
        channel=channel,
    )
    changes: dict[str, object] = {}
    if name != channel.name:
        changes["name"] = {"from": channel.name, "to": name}
        channel.name = name
    if chosen != list(channel.events):
        changes["events"] = {"from": list(channel.events), "to": chosen}
        channel.events = chosen
    if new_url is not None:
        changes["address"] = notify.mask(new_url)
        channel.target_sealed = vault.seal_text(new_url, bound_to=bound_to(channel.kind))
    if not changes:
        return channel
    try:
        with transaction.atomic():
            channel.save(update_fields=["name", "events", "target_sealed"])
            audit_record(
                actor=actor,
                action="notification_channel.changed",
                target=channel,
                environment=channel.environment,
                details={"name": channel.name, "kind": channel.kind, "changes": changes},
            )
    except IntegrityError:
        raise ServiceError(
            f"{channel.environment.name} already has a channel named “{name}”.", field="name"
        ) from None
    return channel


def notification_channel_deactivate(*, actor: Actor, channel: NotificationChannel) -> int:
    """Stop a channel: it hears of nothing more, and what it had not sent yet is dropped
    (``failed``, saying why); returns how many. Its past notifications stay, on /outbox/.
    Audited ``notification_channel.deactivated``."""
    require_administrator(actor)
    with transaction.atomic():
        changed = NotificationChannel.objects.filter(pk=channel.pk, active=True).update(
            active=False
        )
        if not changed:
            raise ServiceError(f"The channel “{channel.name}” is deactivated already.")
        dropped = OutboundNotification.objects.filter(
            channel=channel,
            status__in=[OutboundNotification.Status.QUEUED, OutboundNotification.Status.FAILED],
        ).update(status=OutboundNotification.Status.FAILED, last_error=DEACTIVATED)
        audit_record(
            actor=actor,
            action="notification_channel.deactivated",
            target=channel,
            environment=channel.environment,
            details={"name": channel.name, "kind": channel.kind, "unsent_dropped": dropped},
        )
    channel.active = False
    return dropped


def notification_channel_reactivate(
    *, actor: Actor, channel: NotificationChannel
) -> NotificationChannel:
    """Start a deactivated channel again, for the events from now on (what it dropped stays
    dropped). Audited ``notification_channel.changed``."""
    require_administrator(actor)
    with transaction.atomic():
        changed = NotificationChannel.objects.filter(pk=channel.pk, active=False).update(
            active=True
        )
        if not changed:
            raise ServiceError(f"The channel “{channel.name}” is active already.")
        audit_record(
            actor=actor,
            action="notification_channel.changed",
            target=channel,
            environment=channel.environment,
            details={"name": channel.name, "kind": channel.kind, "changes": {"active": True}},
        )
    channel.active = True
    return channel


def notification_channel_test(
    *, actor: Actor, channel: NotificationChannel
) -> OutboundNotification:
    """Queue a test message to this channel only, whatever events it chose; it leaves like any
    other (the outbox shows whether it arrived). Audited ``notification_channel.tested``."""
    require_administrator(actor)
    if not channel.active:
        raise ServiceError(f"The channel “{channel.name}” is deactivated: reactivate it first.")
    environment = channel.environment
    with transaction.atomic():
        rows = notifications_queue(
            [
                Event(
                    environment=environment,
                    event=EventType.TEST,
                    key=f"test:{uuid.uuid4().hex}",
                    title=f"Test message from certdesk ({environment.name})",
                    text=(
                        f"{actor.name} sent this test at "
                        f"{timezone.localtime():%Y-%m-%d %H:%M %Z} to check that the channel "
                        f"“{channel.name}” of {environment.name} works. Nothing to do."
                    ),
                    link=absolute(reverse("settings_notifications", args=[environment.slug])),
                )
            ],
            channels=[channel],
        )
        row = rows[0]
        audit_record(
            actor=actor,
            action="notification_channel.tested",
            target=channel,
            environment=environment,
            details={"name": channel.name, "kind": channel.kind, "notification": row.pk},
        )
    return row


def notification_channels_reseal(current: str) -> int:
    """Seal every channel's address and secret under the first encryption key (rotation), so
    an old key can be removed; returns how many channels moved. One transaction."""
    moved = 0
    with transaction.atomic():
        for channel in NotificationChannel.objects.select_for_update().order_by("pk"):
            changed = False
            for field in ("target_sealed", "secret_sealed"):
                sealed = getattr(channel, field)
                if not sealed or vault.sealed_text_key_id(sealed) in (None, current):
                    continue
                plain = vault.unseal_text(sealed, bound_to=bound_to(channel.kind))
                setattr(channel, field, vault.seal_text(plain, bound_to=bound_to(channel.kind)))
                changed = True
            if changed:
                channel.save(update_fields=["target_sealed", "secret_sealed"])
                moved += 1
    return moved
