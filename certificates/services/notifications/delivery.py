"""Delivering a notification: the outbox's discipline (services/outbox.py), for chat rooms and
webhooks.

A row is stored first (``events.notifications_queue``), then its task is published once the
transaction commits; a worker claims it once (a conditional update under
``select_for_update(skip_locked=True)``), sends it outside any transaction within
``CERTDESK_NOTIFICATION_TIMEOUT_SECONDS``, and records the outcome. A failure is retried by the
task with the emails' backoff (``tasks.retry_delay``), then by beat's requeue pass, up to
``MAX_ATTEMPTS`` in all; past it the row stays ``failed``, on /outbox/.

A worker killed between its claim and the request leaves the row ``sending``; once that is older
than the Celery hard time limit (no live worker can still hold it), the requeue pass queues it
again and it is delivered once. A worker killed after the service took the message but before
the row says ``sent`` sends it again: the same ``id`` (``delivery_id``) in the webhook's body
and ``X-Certdesk-Delivery`` header lets a receiver drop the repeat.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from certificates import notify, vault
from certificates.models import NotificationChannel, OutboundNotification
from certificates.outbox_policy import MAX_ATTEMPTS, NOTIFY_TASK, RETRY_BACKOFF_MAX
from certificates.services.audit import Actor, audit_record
from certificates.services.notifications.guard import REFUSED_REASON, carries_key_material

logger = logging.getLogger(__name__)
Status = OutboundNotification.Status

# The note a queued row carries while the broker cannot take its task (as emails do).
WAITING_FOR_BROKER = "Waiting for the task queue: the notification is stored, but the broker"
DEACTIVATED = "Not sent: the channel was deactivated before it left."


def bound_to(kind: str) -> str:
    """What a channel's sealed address and secret are bound to in the vault."""
    return f"channel:{kind}"


def delivery_id(row: OutboundNotification) -> str:
    """The same for every attempt at one row, unique across channels and restores: what a
    receiver drops repeats by (the webhook's ``id`` and ``X-Certdesk-Delivery``)."""
    seed = f"{row.channel_id}|{row.event_key}|{row.created_at.isoformat()}"
    return "ntf_" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def _stuck_after() -> timedelta:
    return timedelta(seconds=int(settings.CELERY_TASK_TIME_LIMIT))


def _abandoned_after() -> timedelta:
    return timedelta(seconds=RETRY_BACKOFF_MAX) + _stuck_after()


def _requeue_after() -> timedelta:
    return timedelta(seconds=int(settings.CERTDESK_OUTBOX_REQUEUE_SECONDS))


def publish_on_commit(notification_id: int) -> None:
    transaction.on_commit(lambda: outbound_notification_publish(notification_id=notification_id))


def outbound_notification_publish(*, notification_id: int) -> bool:
    """Hand the row's send task to the broker; False (logged, noted on the row) when it
    could not take it: beat's requeue pass publishes it again once the broker is back."""
    try:
        current_app.signature(NOTIFY_TASK, args=(notification_id,)).apply_async()
    except Exception as error:
        if current_app.conf.task_always_eager:
            raise  # the task itself ran here (the test suite): its error is not the broker's
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        logger.warning(
            "Notification %s stays queued: the broker could not take its task (%s)",
            notification_id,
            reason,
        )
        try:
            OutboundNotification.objects.filter(pk=notification_id, status=Status.QUEUED).update(
                last_error=f"{WAITING_FOR_BROKER} (Redis) could not take it ({reason}). It "
                "leaves as soon as the queue is back."
            )
        except DatabaseError:
            logger.warning("Notification %s: the note could not be stored", notification_id)
        return False
    return True


def outbound_notification_claim(*, notification_id: int) -> OutboundNotification | None:
    """Mark the row ``sending`` for this worker, or None when it is not this worker's to send
    (another holds it, it was sent, refused, given up, or its channel was deactivated)."""
    now = timezone.now()
    claimable = Q(status__in=[Status.QUEUED, Status.FAILED]) | Q(
        status=Status.SENDING, sending_started_at__lt=now - _stuck_after()
    )
    with transaction.atomic():
        row = (
            OutboundNotification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel__environment")
            .filter(claimable, pk=notification_id, attempts__lt=MAX_ATTEMPTS, channel__active=True)
            .first()
        )
        if row is None:
            return None
        row.status = Status.SENDING
        row.attempts += 1
        row.sending_started_at = now
        row.save(update_fields=["status", "attempts", "sending_started_at"])
    return row


def _send(row: OutboundNotification) -> None:
    channel = row.channel
    message = notify.Message(
        id=delivery_id(row),
        event=row.event,
        title=row.title,
        text=row.text,
        link=row.link,
        environment=channel.environment.name,
    )
    timeout = float(settings.CERTDESK_NOTIFICATION_TIMEOUT_SECONDS)
    try:
        target = vault.unseal_text(channel.target_sealed, bound_to=bound_to(channel.kind))
        secret = (
            vault.unseal_text(channel.secret_sealed, bound_to=bound_to(channel.kind))
            if channel.secret_sealed
            else ""
        )
    except (vault.VaultError, ValueError) as error:
        raise notify.DeliveryError(f"The channel's address cannot be read: {error}") from None
    if channel.kind == NotificationChannel.Kind.WEBHOOK:
        notify.send_webhook(target, secret, message, timeout=timeout, now=time.time())
    else:
        notify.send_chat(channel.kind, target, message, timeout=timeout)


def outbound_notification_deliver(*, notification_id: int) -> str:
    """Claim the row, send it outside any transaction, record the outcome; returns the status.

    :class:`notify.DeliveryError` is raised again after the row says ``failed``, so the task
    retries with backoff; past ``MAX_ATTEMPTS`` the row is given up and stays ``failed``.
    """
    row = outbound_notification_claim(notification_id=notification_id)
    if row is None:
        return "not claimed"
    environment = row.channel.environment
    if carries_key_material(row.title, row.text, row.link, environment.name):
        with transaction.atomic():
            OutboundNotification.objects.filter(pk=row.pk).update(
                status=Status.REFUSED, last_error=REFUSED_REASON
            )
            audit_record(
                actor=Actor.system(),
                action="notification.refused",
                target=row,
                environment=environment,
                details={"channel": row.channel.name, "event": row.event, "key": row.event_key},
            )
        return Status.REFUSED
    try:
        _send(row)
    except notify.DeliveryError as error:
        given_up = row.attempts >= MAX_ATTEMPTS
        OutboundNotification.objects.filter(pk=row.pk).update(
            status=Status.FAILED, last_error=error.message[:1000]
        )
        logger.warning(
            "Notification %s to channel %s failed (attempt %s): %s",
            row.pk,
            row.channel_id,
            row.attempts,
            error.message,
        )
        if given_up:
            return Status.FAILED
        raise
    OutboundNotification.objects.filter(pk=row.pk).update(
        status=Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return Status.SENT


@dataclass
class NotificationsRequeued:
    """What beat's requeue pass did with the notifications (ids)."""

    stuck: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    published: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "notifications_stuck": len(self.stuck),
            "notifications_retried": len(self.retried),
            "notifications_published": len(self.published),
            "notifications_waiting": len(self.waiting),
        }


def _marker(pk: int) -> str:
    return f"certdesk:outbox:notification-republished:{pk}"


def outbound_notifications_requeue(
    *, now: datetime | None = None, limit: int = 500
) -> NotificationsRequeued:
    """Beat's frequent pass (``CERTDESK_OUTBOX_REQUEUE_SECONDS``) for the notifications no
    worker is going to send by itself:

    - ``sending`` for longer than the hard time limit: its worker died. Queued again (a
      compare-and-set: of two passes, one does it), audited, published.
    - ``failed`` or attempted-and-``queued``, untouched for longer than Celery's longest backoff:
      the task's retries ran out. Published again, up to ``MAX_ATTEMPTS`` in all.
    - ``queued``, never attempted, older than one period: the broker was down or lost it.
      Published again, at most once every five periods (a cache marker).

    Claiming is exclusive, so a row published twice is still sent once. The first publish the
    broker refuses stops the run; the next one tries again. Rows of deactivated channels wait.
    """
    now = now or timezone.now()
    done = NotificationsRequeued()
    rows = OutboundNotification.objects.filter(channel__active=True, attempts__lt=MAX_ATTEMPTS)
    stuck = list(
        rows.filter(status=Status.SENDING, sending_started_at__lt=now - _stuck_after())
        .select_related("channel__environment")
        .order_by("pk")[:limit]
    )
    with transaction.atomic():
        for row in stuck:
            changed = OutboundNotification.objects.filter(
                pk=row.pk, status=Status.SENDING, sending_started_at__lt=now - _stuck_after()
            ).update(
                status=Status.QUEUED,
                last_error="The worker stopped while sending; queued again. If the service had "
                "taken it, it arrives twice with the same id.",
            )
            if changed:
                done.stuck.append(row.pk)
                audit_record(
                    actor=Actor.system(),
                    action="notification.requeued",
                    target=row,
                    environment=row.channel.environment,
                    details={
                        "channel": row.channel.name,
                        "event": row.event,
                        "why": "its worker stopped while sending; it may arrive twice",
                    },
                )
    done.retried = list(
        rows.filter(
            Q(status=Status.FAILED, sending_started_at__lt=now - _abandoned_after())
            | Q(
                status=Status.QUEUED,
                attempts__gt=0,
                sending_started_at__lt=now - _abandoned_after(),
            )
        )
        .exclude(pk__in=done.stuck)
        .order_by("pk")
        .values_list("pk", flat=True)[: max(limit - len(done.stuck), 0)]
    )
    unsent = list(
        rows.filter(status=Status.QUEUED, attempts=0, created_at__lt=now - _requeue_after())
        .exclude(pk__in=done.stuck)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    repeat_after = 5 * _requeue_after()
    try:
        marked = cache.get_many([_marker(pk) for pk in unsent])
    except Exception as error:  # a cache fault must not stop the notifications
        logger.warning("Notification requeue: the cache cannot be read (%s)", type(error).__name__)
        marked = {}
    recent = {
        key
        for key, when in marked.items()
        if isinstance(when, str) and now - datetime.fromisoformat(when) < repeat_after
    }
    markers: dict[str, str] = {}
    for pk in [*done.stuck, *done.retried, *[p for p in unsent if _marker(p) not in recent]]:
        if done.waiting or not outbound_notification_publish(notification_id=pk):
            done.waiting.append(pk)
            continue
        done.published.append(pk)
        if pk in unsent:
            markers[_marker(pk)] = now.isoformat()
    if done.published:
        OutboundNotification.objects.filter(
            pk__in=done.published, status=Status.QUEUED, last_error__startswith=WAITING_FOR_BROKER
        ).update(last_error="")
        if markers:
            try:
                cache.set_many(markers, timeout=int(repeat_after.total_seconds()))
            except Exception as error:
                logger.warning(
                    "Notification requeue: the cache cannot be written (%s)", type(error).__name__
                )
        logger.info("Outbox: handed %s notification(s) to the broker again", len(done.published))
    return done
