"""The events that reach chat rooms and webhooks: one row per listening channel, queued in the
transaction that made the event, at most once per (channel, event key).

The services that make an event call one function here, inside their own transaction: the
rows stand or fall with the event, and each row's send task is published once it commits
(``delivery.outbound_notification_publish``). Texts name certificates by environment, purpose,
common name and serial, never carry key material: a text that would is stored ``refused``,
withheld, and the refusal audited (``notification.refused``), like an email (rule 3).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from certificates import emails
from certificates.models import (
    Certificate,
    Environment,
    NotificationChannel,
    OutboundEmail,
    OutboundNotification,
    Purpose,
    Reminder,
    Revocation,
)
from certificates.selectors.status import days_left
from certificates.services.audit import Actor, AuditEntry, audit_record_many
from certificates.services.notifications.delivery import publish_on_commit
from certificates.services.notifications.guard import REFUSED_REASON, carries_key_material

if TYPE_CHECKING:
    from django.db.models import QuerySet

Kind = NotificationChannel.Kind
EventType = NotificationChannel.Event

WITHHELD = "(withheld: it carried private-key material)"


@dataclass(frozen=True)
class Event:
    """Something channels may hear of: ``key`` makes it unique for a channel ("reminder:12")."""

    environment: Environment
    event: str
    key: str
    title: str
    text: str
    link: str = ""


def absolute(path: str) -> str:
    return f"{settings.CERTDESK_SITE_URL}{path}"


def _listening(
    environment_ids: set[int], channels: Sequence[NotificationChannel] | None
) -> dict[int, list[NotificationChannel]]:
    by_environment: dict[int, list[NotificationChannel]] = defaultdict(list)
    if channels is None:
        found: QuerySet[NotificationChannel] | list[NotificationChannel] = (
            NotificationChannel.objects.filter(environment_id__in=environment_ids, active=True)
            .select_related("environment")
            .order_by("pk")
        )
    else:
        found = list(channels)
    for channel in found:
        by_environment[channel.environment_id].append(channel)
    return by_environment


def notifications_queue(
    events: Sequence[Event],
    *,
    channels: Sequence[NotificationChannel] | None = None,
) -> list[OutboundNotification]:
    """Store one row per event and channel that listens to it (``channels``: these only,
    whatever their events: the test message), and publish each new row's send task once the
    caller's transaction commits; returns the new rows.

    An event already stored for a channel (same key) is not stored again: the unique
    constraint, so two callers at once still make one row. Costs one query when no channel
    listens, three otherwise (channels, existing keys, insert) and one to read the new ids.
    """
    if not events:
        return []
    listening = _listening({event.environment.pk for event in events}, channels)
    if not listening:
        return []
    rows: list[OutboundNotification] = []
    for event in events:
        for channel in listening.get(event.environment.pk, []):
            if channels is None and event.event not in channel.events:
                continue
            rows.append(_row(channel, event))
    if not rows:
        return []
    with transaction.atomic():
        keys = {(row.channel_id, row.event_key) for row in rows}
        existing = set(
            OutboundNotification.objects.filter(
                channel_id__in={channel_id for channel_id, _ in keys},
                event_key__in={key for _, key in keys},
            ).values_list("channel_id", "event_key")
        )
        fresh = [row for row in rows if (row.channel_id, row.event_key) not in existing]
        if not fresh:
            return []
        OutboundNotification.objects.bulk_create(fresh, ignore_conflicts=True)
        wanted = {(row.channel_id, row.event_key) for row in fresh}
        stored = [
            row
            for row in OutboundNotification.objects.filter(
                channel_id__in={channel_id for channel_id, _ in wanted},
                event_key__in={key for _, key in wanted},
            )
            .select_related("channel__environment")
            .order_by("pk")
            if (row.channel_id, row.event_key) in wanted
        ]
        refused = [row for row in stored if row.status == OutboundNotification.Status.REFUSED]
        audit_record_many(
            [
                AuditEntry(
                    actor=Actor.system(),
                    action="notification.refused",
                    target=row,
                    environment=row.channel.environment,
                    details={"channel": row.channel.name, "event": row.event, "key": row.event_key},
                )
                for row in refused
            ]
        )
        for row in stored:
            if row.status == OutboundNotification.Status.QUEUED:
                publish_on_commit(row.pk)
    return stored


def _row(channel: NotificationChannel, event: Event) -> OutboundNotification:
    row = OutboundNotification(
        channel=channel,
        event=event.event,
        event_key=event.key[:128],
        title=" ".join(event.title.split())[:255],
        text=event.text.strip(),
        link=event.link[:500],
    )
    if carries_key_material(event.title, event.text, event.link, event.environment.name):
        row.title, row.text, row.link = WITHHELD, WITHHELD, ""
        row.status = OutboundNotification.Status.REFUSED
        row.last_error = REFUSED_REASON
    return row


# --- the events ------------------------------------------------------------------------------


def _what(certificate: Certificate) -> str:
    """ "Sandbox mTLS api.acme.com": how a chat message names a certificate."""
    request = certificate.signing_request
    return f"{request.environment.name} {Purpose(certificate.purpose).label} {request.common_name}"


def _certificate_link(certificate: Certificate) -> str:
    return absolute(reverse("certificate_detail", args=[certificate.pk]))


def _in_days(left: int) -> str:
    if left < 0:
        return f"expired {-left} day{'s' if left != -1 else ''} ago"
    if left == 0:
        return "expires today"
    return f"expires in {left} day{'s' if left != 1 else ''}"


def notify_owner_reminders(
    reminders: Sequence[tuple[Reminder, Certificate]], *, now: datetime | None = None
) -> list[OutboundNotification]:
    """The owners' reminders the expiry scan just queued, to the channels that listen to
    ``owner_reminder``: one message per reminder (certificate and threshold)."""
    now = now or timezone.now()
    events = []
    for reminder, certificate in reminders:
        left = days_left(certificate.not_after, now)
        events.append(
            Event(
                environment=certificate.signing_request.environment,
                event=EventType.OWNER_REMINDER,
                key=f"reminder:{reminder.pk}",
                title=f"Certificate {_in_days(left)}: {_what(certificate)}",
                text=(
                    f"The {_what(certificate)} certificate (#{certificate.pk}, serial "
                    f"{certificate.serial}) {_in_days(left)}, on "
                    f"{timezone.localtime(certificate.not_after):%Y-%m-%d %H:%M %Z}. "
                    "Renew it with a new key and install the new certificate before then."
                ),
                link=_certificate_link(certificate),
            )
        )
    return notifications_queue(events)


def notify_compromise(
    *, actor: Actor, certificate: Certificate, revocation: Revocation
) -> list[OutboundNotification]:
    """A compromised key reported: the TAM is being emailed; the team should replace it."""
    since = (
        f", suspected since {revocation.suspected_since:%Y-%m-%d}"
        if revocation.suspected_since
        else ""
    )
    return notifications_queue(
        [
            Event(
                environment=certificate.signing_request.environment,
                event=EventType.COMPROMISE,
                key=f"compromise:{revocation.pk}",
                title=f"Key reported compromised: {_what(certificate)}",
                text=(
                    f"{actor.name} reported the key of the {_what(certificate)} certificate "
                    f"(#{certificate.pk}, serial {certificate.serial}) compromised{since}. "
                    "certdesk emailed the TAM to revoke it. Make a new key and certificate now."
                ),
                link=_certificate_link(certificate),
            )
        ]
    )


def notify_revocation_confirmed(
    *, actor: Actor, revocation: Revocation, confirmed_on: object
) -> list[OutboundNotification]:
    """Treezor confirmed a revocation (recorded by ``actor``)."""
    certificate = revocation.certificate
    return notifications_queue(
        [
            Event(
                environment=certificate.signing_request.environment,
                event=EventType.REVOCATION_CONFIRMED,
                key=f"revoked:{revocation.pk}",
                title=f"Revocation confirmed: {_what(certificate)}",
                text=(
                    f"Treezor confirmed the revocation of the {_what(certificate)} certificate "
                    f"(#{certificate.pk}, serial {certificate.serial}) on {confirmed_on}; "
                    f"recorded by {actor.name}."
                ),
                link=_certificate_link(certificate),
            )
        ]
    )


def notify_tam_email_failed(
    email: OutboundEmail, reason: str, *, refused: bool = False
) -> list[OutboundNotification]:
    """An email to the TAM that finally failed (given up after its attempts, or refused by
    the outgoing guard). Emails of other kinds, and emails of no environment, say nothing."""
    from certificates.outbox_policy import TAM_KINDS

    if email.kind not in TAM_KINDS or email.environment is None:
        return []
    if carries_key_material(reason):
        reason = "(withheld: it carries private-key material)"
    if email.certificate_id is not None:
        link = absolute(reverse("certificate_detail", args=[email.certificate_id]))
    elif email.signing_request_id is not None:
        link = absolute(reverse("request_detail", args=[email.signing_request_id]))
    else:
        link = absolute(reverse("outbox"))
    what = "refused by the outgoing guard" if refused else "not delivered"
    subject = emails.loggable_subject(email.subject)
    return notifications_queue(
        [
            Event(
                environment=email.environment,
                event=EventType.TAM_EMAIL_FAILED,
                key=f"email-failed:{email.pk}",
                title=f"Email to the TAM {what}: {subject}",
                text=(
                    f"The email “{subject}” to {', '.join(str(a) for a in email.to)} was {what}: "
                    f"{reason[:500]} Send it again from certdesk, or email the TAM yourself."
                ),
                link=link,
            )
        ]
    )


def notify_certificate_installed(
    *, actor: Actor, certificate: Certificate, replaced: Certificate | None
) -> list[OutboundNotification]:
    """A certificate uploaded and put in service (replacing ``replaced``, if any)."""
    replacing = (
        f" It replaces certificate #{replaced.pk} (serial {replaced.serial})."
        if replaced is not None
        else ""
    )
    return notifications_queue(
        [
            Event(
                environment=certificate.signing_request.environment,
                event=EventType.CERTIFICATE_INSTALLED,
                key=f"installed:{certificate.pk}",
                title=f"Certificate installed: {_what(certificate)}",
                text=(
                    f"{actor.name} installed the {_what(certificate)} certificate "
                    f"(#{certificate.pk}, serial {certificate.serial}), valid until "
                    f"{timezone.localtime(certificate.not_after):%Y-%m-%d}.{replacing}"
                ),
                link=_certificate_link(certificate),
            )
        ]
    )
