"""The outbox: an email is a row first, then a worker claims it once and sends it.

Delivery is at-least-once, never lost, and duplicates only in one narrow case
(docs/operations.md, "Reminders and the outbox"): a worker killed after the SMTP server accepted
a message but before the row says ``sent``. The row then stays ``sending``; once that is older
than the Celery hard time limit (no live worker can still be sending it: the limit would have
killed it), the next claim or the expiry scan sends it again, with the same Message-ID so the copy
is recognisable.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.mail import get_connection
from django.db import DatabaseError, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from certificates import crypto, emails
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    OutboundEmail,
    Reminder,
    SigningRequest,
)

# The policy's numbers live below the services, the retry schedule beside the send task
# (certificates/tasks.py); these three are re-exported for the callers that read them here.
from certificates.outbox_policy import MAX_ATTEMPTS as MAX_ATTEMPTS
from certificates.outbox_policy import RETRY_BACKOFF_MAX, SEND_TASK
from certificates.outbox_policy import TAM_KINDS as TAM_KINDS
from certificates.outbox_policy import WAITING_FOR_BROKER as WAITING_FOR_BROKER
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.notifications import notify_tam_email_failed

logger = logging.getLogger(__name__)


def _stuck_after() -> timedelta:
    """A ``sending`` row older than the hard time limit has no live worker behind it."""
    return timedelta(seconds=int(settings.CELERY_TASK_TIME_LIMIT))


def _abandoned_after() -> timedelta:
    """A queued or failed row untouched for this long has no Celery retry coming any more."""
    return timedelta(seconds=RETRY_BACKOFF_MAX) + _stuck_after()


class KeyMaterialRefused(ServiceError):
    """The outgoing guard refused text on its way out (an email, a note); the refusal is
    recorded in the audit log, and stays recorded even when the caller's transaction rolls back.

    The audit event is written where the refusal happens, inside the caller's transaction (so a
    caller that catches the refusal and commits, like the expiry scan, keeps it), and the
    exception carries what was recorded. A caller whose transaction the refusal rolls back wraps
    it in :func:`atomic_keeping_refusals`, which writes the event again after the rollback,
    outside the block. Why not a second database connection: the audit chain has one writer at
    a time (an advisory lock on PostgreSQL, SQLite's single writer), and the caller's own
    transaction may hold it already, so a second connection would wait on itself.
    """

    def __init__(
        self,
        message: str,
        *,
        actor: Actor,
        action: str,
        environment: Environment | None,
        details: dict[str, Any],
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.actor = actor
        self.action = action
        self.environment = environment
        self.details = details
        self.event: AuditEvent | None = None

    def record_if_lost(self) -> AuditEvent:
        """Write the audit event, unless the one written earlier is still in the database."""
        if (
            self.event is not None
            and AuditEvent.objects.filter(pk=self.event.pk, hash=self.event.hash).exists()
        ):
            return self.event
        self.event = audit_record(
            actor=self.actor,
            action=self.action,
            environment=self.environment,
            details=self.details,
        )
        return self.event


@contextmanager
def atomic_keeping_refusals() -> Iterator[None]:
    """``transaction.atomic()``, after which a :class:`KeyMaterialRefused` raised inside is
    still in the audit log: the block rolls back, then the refusal is recorded again outside it
    (when this block is itself inside a transaction, in that one; wrap the outer one too)."""
    try:
        with transaction.atomic():
            yield
    except KeyMaterialRefused as refused:
        refused.record_if_lost()
        raise


def refuse_key_material(
    message: str,
    *,
    actor: Actor,
    action: str,
    environment: Environment | None,
    details: dict[str, Any],
    field: str | None = None,
) -> KeyMaterialRefused:
    """Record the refusal now and return the exception to raise (see KeyMaterialRefused)."""
    refused = KeyMaterialRefused(
        message,
        actor=actor,
        action=action,
        environment=environment,
        details=details,
        field=field,
    )
    refused.record_if_lost()
    return refused


def outbound_email_queue(
    *,
    actor: Actor,
    kind: str,
    composed: emails.ComposedEmail,
    environment: Environment | None = None,
    submission_token: uuid.UUID | None = None,
    signing_request: SigningRequest | None = None,
    certificate: Certificate | None = None,
) -> OutboundEmail:
    """Store the email and queue its sending once the caller's transaction commits.

    ``actor.user`` is recorded as ``created_by`` (told if a TAM email finally fails);
    ``submission_token`` is the sending form's one-time token, unique: a second row with the same
    token is an ``IntegrityError``, which the caller turns into "the first result".

    Refused here already when it carries key material, so a refusal is an error the user sees,
    not a silent failure in a worker: :class:`KeyMaterialRefused`, recorded as ``email.refused``
    (callers that roll back on it use :func:`atomic_keeping_refusals`).
    """
    email = outbound_email_build(
        actor=actor,
        kind=kind,
        composed=composed,
        environment=environment,
        signing_request=signing_request,
        certificate=certificate,
    )
    email.submission_token = submission_token
    return outbound_emails_queue([email])[0]


def outbound_email_build(
    *,
    actor: Actor,
    kind: str,
    composed: emails.ComposedEmail,
    environment: Environment | None = None,
    signing_request: SigningRequest | None = None,
    certificate: Certificate | None = None,
) -> OutboundEmail:
    """The outbox row for ``composed``, not saved yet, once the outgoing guard let it through
    (or :class:`KeyMaterialRefused`, recorded: see :func:`outbound_email_queue`).

    ``signing_request`` and ``certificate``: what the email is about (the outbox page links
    them; a later email about the same thing threads with it, ``selectors.threads``)."""
    attachments = [
        {"filename": a.filename, "content": a.content, "mimetype": a.mimetype}
        for a in composed.attachments
    ]
    probe = emails.build_message(
        to=composed.to,
        subject=composed.subject,
        body_text=composed.body_text,
        body_html=composed.body_html,
        attachments=attachments,
        message_id="<probe@certdesk.invalid>",
        cc=composed.cc,
        reply_to=composed.reply_to,
    )
    if emails.carries_private_key(probe):
        raise refuse_key_material(
            "This email would carry private-key material, so certdesk refused to send it. "
            "Only CSRs and certificates are ever emailed.",
            actor=actor,
            action="email.refused",
            environment=environment,
            details={
                "kind": kind,
                "subject": emails.loggable_subject(composed.subject),
                "to": composed.to,
            },
        )
    return OutboundEmail(
        kind=kind,
        environment=environment,
        to=composed.to,
        cc=composed.cc,
        reply_to=composed.reply_to,
        in_reply_to=composed.in_reply_to,
        references=" ".join(composed.references),
        signing_request=signing_request,
        certificate=certificate,
        subject=composed.subject,
        body_text=composed.body_text,
        body_html=composed.body_html,
        attachments=attachments,
        created_by_label=actor.name,
        created_by=actor.user,
    )


def outbound_emails_queue(built: Sequence[OutboundEmail]) -> list[OutboundEmail]:
    """Store rows from :func:`outbound_email_build` in one insert, and queue the sending of
    each once the caller's transaction commits (one task per email, in their order)."""
    stored = OutboundEmail.objects.bulk_create(built)
    for email in stored:
        _send_on_commit(email.pk)
    return stored


def _send_on_commit(email_id: int) -> None:
    """Publish the send task once the caller's transaction commits (the worker must find the
    row), through :func:`outbound_email_publish`, which never raises for a broker fault."""
    transaction.on_commit(lambda: outbound_email_publish(email_id=email_id))


def outbound_email_publish(*, email_id: int) -> bool:
    """Hand the email's send task to the broker; False when the broker could not take it.

    Runs after the row is committed, so a broker fault here must not become an error page:
    the email is stored already, and a user retrying an error page would store and send a
    second one. Instead the failure is logged, the email stays ``queued`` with a note saying
    why (:data:`WAITING_FOR_BROKER`; the request and certificate pages show it), and
    :func:`outbound_email_requeue_unsent` (beat, every ``CERTDESK_OUTBOX_REQUEUE_SECONDS``)
    publishes it again once the broker is back.
    """
    try:
        # By name: the task module imports this one, not the reverse. Registered in every process
        # (CertificatesConfig.ready), so an eager app (the test suite) runs it in place.
        current_app.signature(SEND_TASK, args=(email_id,)).apply_async()
    except Exception as error:
        if current_app.conf.task_always_eager:
            raise  # the task itself ran here (the test suite): its error is not the broker's
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        logger.warning(
            "Outbox email %s stays queued: the broker could not take its task (%s); it leaves "
            "as soon as the broker is back",
            email_id,
            reason,
        )
        note = (
            f"{WAITING_FOR_BROKER} (Redis) could not take it ({reason}). It leaves as soon as "
            "the queue is back; do not send it again."
        )
        try:
            OutboundEmail.objects.filter(pk=email_id, status=OutboundEmail.Status.QUEUED).update(
                last_error=note
            )
        except DatabaseError:
            logger.warning("Outbox email %s: the note could not be stored", email_id)
        return False
    return True


def outbound_emails_waiting_for_broker(email_ids: Iterable[int]) -> list[int]:
    """Of these emails, those stored but not yet handed to the broker (it could not take them)."""
    return list(
        OutboundEmail.objects.filter(
            pk__in=list(email_ids),
            status=OutboundEmail.Status.QUEUED,
            last_error__startswith=WAITING_FOR_BROKER,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def outbound_email_claim(*, email_id: int) -> OutboundEmail | None:
    """Mark the row ``sending`` for this worker, or None when it is not this worker's to send.

    ``select_for_update(skip_locked=True)`` lets exactly one worker claim a queued or failed
    row; a second finds nothing and returns. A row stuck in ``sending`` past the time limit is
    claimable again: its worker died, and sending it again is how nothing is lost.
    """
    now = timezone.now()
    claimable = Q(status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED]) | Q(
        status=OutboundEmail.Status.SENDING, sending_started_at__lt=now - _stuck_after()
    )
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(claimable, pk=email_id, attempts__lt=MAX_ATTEMPTS)
            .first()
        )
        if email is None:
            return None
        email.status = OutboundEmail.Status.SENDING
        email.attempts += 1
        email.sending_started_at = now
        email.save(update_fields=["status", "attempts", "sending_started_at"])
    return email


def outbound_email_deliver(*, email_id: int) -> str:
    """Claim the row, send it outside any transaction, record the outcome; returns the status.

    SMTP and network errors are raised again after the row says ``failed``, so the Celery task
    retries with backoff; past :data:`MAX_ATTEMPTS` the email is given up and ``failed`` stays.
    """
    email = outbound_email_claim(email_id=email_id)
    if email is None:
        return "not claimed"

    message = emails.build_message(
        to=list(email.to),
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        attachments=list(email.attachments),
        # Stored with the row: a retry of this row keeps it, another database never reuses it.
        message_id=email.message_id,
        cc=list(email.cc or []),
        reply_to=list(email.reply_to or []),
        in_reply_to=email.in_reply_to,
        references=email.references.split(),
    )
    if emails.carries_private_key(message):
        reason = "Refused by the outgoing guard: it carries private-key material."
        with transaction.atomic():
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=OutboundEmail.Status.REFUSED, last_error=reason
            )
            _reminders_end(email.pk, Reminder.Status.FAILED, reason)
            _tell_sender_it_failed(email, reason, refused=True)
            audit_record(
                actor=Actor.system(),
                action="email.refused",
                target=email,
                environment=email.environment,
                details={"subject": emails.loggable_subject(email.subject)},
            )
        return OutboundEmail.Status.REFUSED
    try:
        get_connection().send_messages([message])
    except Exception as error:
        last_error = f"{type(error).__name__}: {error}"[:1000]
        given_up = email.attempts >= MAX_ATTEMPTS
        with transaction.atomic():
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=OutboundEmail.Status.FAILED, last_error=last_error
            )
            if given_up:
                _reminders_end(
                    email.pk,
                    Reminder.Status.FAILED,
                    f"The outbox gave up after {email.attempts} attempts: {last_error}",
                )
                _tell_sender_it_failed(
                    email, f"certdesk gave up after {email.attempts} attempts: {last_error}"
                )
        logger.warning(
            "Sending outbox email %s failed (attempt %s): %s",
            email.pk,
            email.attempts,
            type(error).__name__,
        )
        if given_up:
            return OutboundEmail.Status.FAILED
        raise
    sent_at = timezone.now()
    with transaction.atomic():
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.SENT, sent_at=sent_at, last_error=""
        )
        Reminder.objects.filter(email_id=email.pk).update(
            status=Reminder.Status.SENT, sent_at=sent_at
        )
    return OutboundEmail.Status.SENT


def _reminders_end(email_id: int, status: str, reason: str) -> None:
    Reminder.objects.filter(email_id=email_id).update(status=status, reason=reason[:1000])


def _tell_sender_it_failed(email: OutboundEmail, reason: str, *, refused: bool = False) -> None:
    """Email the person who asked for a TAM email that it finally failed (given up or
    refused), in the caller's transaction; their dashboard shows it too
    (selectors.email_states.failed_emails_of).

    The notice goes through the outbox as kind ``reminder`` ("to the owners"): a new kind would
    change the model's choices, hence a migration. It is certdesk's own email (no
    ``created_by``), so its own failure tells nobody: no loop. It names the email by its
    subject and recipients only, never its body or attachments.
    """
    notify_tam_email_failed(email, reason, refused=refused)  # issue 18: the team's channels
    sender = email.created_by
    if email.kind not in TAM_KINDS or sender is None or not sender.email:
        return
    if crypto.contains_private_key_material(reason.encode("utf-8", "replace")):
        reason = "(withheld: it carries private-key material)"
    context = {
        "sender": sender,
        "email": email,
        "subject": emails.loggable_subject(email.subject),
        "to": ", ".join(str(address) for address in email.to),
        "reason": reason,
        "refused": refused,
    }
    text, html = emails.render("delivery_failure", context)
    try:
        outbound_email_queue(
            actor=Actor.system(),
            kind=OutboundEmail.Kind.REMINDER,
            composed=emails.ComposedEmail(
                to=[sender.email],
                subject=f"Not delivered to the TAM: {context['subject']}"[:255],
                body_text=text,
                body_html=html,
            ),
            environment=email.environment,
            signing_request=email.signing_request,
            certificate=email.certificate,
        )
    except KeyMaterialRefused:
        # Recorded as ``email.refused`` already; the dashboard notice still tells the sender.
        logger.warning("The failure notice for outbox email %s was refused", email.pk)


def outbound_email_requeue_stale(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Queue again the emails no worker is going to send by itself; returns their ids.

    - ``sending`` for longer than the hard time limit: the worker died mid-send. The row goes
      back to ``queued`` with a note; if the SMTP server had already accepted the message, the
      recipient gets it twice, with the same Message-ID (at-least-once: nothing is lost).
    - ``failed`` or ``queued`` and untouched for longer than Celery's longest backoff: its
      retries ran out, or the broker lost the task. Claiming is exclusive, so a task queued
      twice still sends once. ``failed`` rows are bounded by :data:`MAX_ATTEMPTS`.
    """
    now = now or timezone.now()
    stuck = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.SENDING,
            sending_started_at__lt=now - _stuck_after(),
            attempts__lt=MAX_ATTEMPTS,
        )
        .select_related("environment")
        .only("pk", "kind", "subject", "environment")[:limit]
    )
    requeued: list[int] = []
    with transaction.atomic():
        for email in stuck:
            # Compare-and-set: of two scans, only the one that changes the row queues it.
            changed = OutboundEmail.objects.filter(
                pk=email.pk,
                status=OutboundEmail.Status.SENDING,
                sending_started_at__lt=now - _stuck_after(),
            ).update(
                status=OutboundEmail.Status.QUEUED,
                last_error="The worker stopped while sending; queued again. If the mail server "
                "had accepted it, it arrives twice with the same Message-ID.",
            )
            if changed:
                requeued.append(email.pk)
                _send_on_commit(email.pk)
                audit_record(
                    actor=Actor.system(),
                    action="email.requeued",
                    target=email,
                    environment=email.environment,
                    details={
                        "subject": emails.loggable_subject(email.subject),
                        "why": "its worker stopped while sending; it may arrive twice",
                    },
                )
        abandoned_rows = OutboundEmail.objects.filter(
            Q(status=OutboundEmail.Status.FAILED, sending_started_at__lt=now - _abandoned_after())
            | Q(
                Q(sending_started_at__isnull=True)
                | Q(sending_started_at__lt=now - _abandoned_after()),
                status=OutboundEmail.Status.QUEUED,
                created_at__lt=now - _abandoned_after(),
            ),
            attempts__lt=MAX_ATTEMPTS,
        )
        # Rows just put back from ``sending`` are queued already.
        abandoned = abandoned_rows.exclude(pk__in=requeued).values_list("pk", flat=True)[
            : max(limit - len(requeued), 0)
        ]
        for email_id in abandoned:
            requeued.append(email_id)
            _send_on_commit(email_id)
    if requeued:
        logger.info("Outbox: queued again %s email(s) no worker was sending", len(requeued))
    return requeued


@dataclass(frozen=True)
class Republished:
    """What :func:`outbound_email_requeue_unsent` did: the ids handed to the broker again, and
    those still waiting for it (it failed on the first of them, so it did not try the others)."""

    published: list[int]
    waiting: list[int]

    def summary(self) -> dict[str, int]:
        return {"published": len(self.published), "waiting": len(self.waiting)}


def _requeue_after() -> timedelta:
    return timedelta(seconds=int(settings.CERTDESK_OUTBOX_REQUEUE_SECONDS))


def _published_marker(message_id: str) -> str:
    return f"certdesk:outbox:republished:{message_id}"


def outbound_email_requeue_unsent(*, now: datetime | None = None, limit: int = 500) -> Republished:
    """Publish again the emails queued and never attempted since a while: the broker was down
    when they were stored, or lost their task. Beat runs it every
    ``CERTDESK_OUTBOX_REQUEUE_SECONDS`` (a minute), so an email waiting for the broker leaves
    within about two of those periods of its return, the urgent revocation request first.

    Taken: ``queued``, no attempt yet, stored more than ``CERTDESK_OUTBOX_REQUEUE_SECONDS`` ago
    (a task published at commit has had its chance), and not published again by this function
    within the last five periods (a marker in the cache): when the workers are only slow, the
    queue does not fill up with copies of the same task. A copy is harmless anyway (the claim
    is exclusive: one send). Rows that were attempted are the expiry scan's
    (:func:`outbound_email_requeue_stale`: Celery's own retries are coming for them).

    The first publish that fails stops the run: the broker is down, the others wait with it.
    """
    now = now or timezone.now()
    rows = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.QUEUED,
            attempts=0,
            created_at__lt=now - _requeue_after(),
        )
        .annotate(
            urgent=Case(
                When(kind=OutboundEmail.Kind.TAM_REVOCATION, then=Value(0)), default=Value(1)
            )
        )
        .order_by("urgent", "created_at", "pk")
        .values_list("pk", "message_id")[:limit]
    )
    if not rows:
        return Republished(published=[], waiting=[])
    repeat_after = 5 * _requeue_after()
    try:
        marked = cache.get_many([_published_marker(mid) for _, mid in rows])
    except Exception as error:  # a cache fault must not stop the emails: a copy is harmless
        logger.warning("Outbox requeue: the cache cannot be read (%s)", type(error).__name__)
        marked = {}
    # The marker holds when it was set: compared with ``now``, not left to the cache's expiry.
    recent = {
        key
        for key, when in marked.items()
        if isinstance(when, str) and now - datetime.fromisoformat(when) < repeat_after
    }
    published: list[int] = []
    waiting: list[int] = []
    markers: dict[str, str] = {}
    for pk, message_id in rows:
        if _published_marker(message_id) in recent:
            continue
        if waiting or not outbound_email_publish(email_id=pk):
            waiting.append(pk)
            continue
        published.append(pk)
        markers[_published_marker(message_id)] = now.isoformat()
    if published:
        OutboundEmail.objects.filter(
            pk__in=published,
            status=OutboundEmail.Status.QUEUED,
            last_error__startswith=WAITING_FOR_BROKER,
        ).update(last_error="")
        try:
            cache.set_many(markers, timeout=int(repeat_after.total_seconds()))
        except Exception as error:
            logger.warning("Outbox requeue: the cache cannot be written (%s)", type(error).__name__)
        logger.info("Outbox: handed %s waiting email(s) to the broker again", len(published))
    if waiting:
        logger.warning(
            "Outbox: %s email(s) still wait for the broker; the next run tries again", len(waiting)
        )
    return Republished(published=published, waiting=waiting)
