"""Composing and sending mail, behind the outgoing guard of rule 3.

Every email certdesk sends is an :class:`~certificates.models.OutboundEmail` row first (the
outbox), then a Celery task hands it to Django's mail backend. ``EMAIL_BACKEND`` is
:class:`certificates.mailbackend.GuardedEmailBackend`, which wraps the backend ``EMAIL_URL``
chose: whatever the caller (our tasks, Django's error reports, a future feature), a message that
carries private-key material is refused and the refusal recorded, never sent. This module is
below the services (it composes and checks, and records nothing); the backend, which records
the refusal through the audit service, is above them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.mime.base import MIMEBase
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string

from certificates import crypto


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str
    mimetype: str = "application/x-pem-file"


@dataclass(frozen=True)
class ComposedEmail:
    to: list[str]
    subject: str
    body_text: str
    body_html: str
    attachments: list[Attachment] = field(default_factory=list)


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """The plain-text and HTML parts of ``emails/<template>.txt`` and ``.html``."""
    context = {"site_url": settings.CERTDESK_SITE_URL, **context}
    return (
        render_to_string(f"emails/{template}.txt", context).strip() + "\n",
        render_to_string(f"emails/{template}.html", context),
    )


def _parts(message: EmailMessage) -> Iterable[bytes]:
    yield str(message.subject).encode("utf-8", "replace")
    yield str(message.body).encode("utf-8", "replace")
    for alternative in getattr(message, "alternatives", []):
        content = alternative[0]
        yield content.encode("utf-8", "replace") if isinstance(content, str) else bytes(content)
    for attachment in message.attachments:
        if isinstance(attachment, MIMEBase):
            payload = attachment.get_payload(decode=True)
            yield payload if isinstance(payload, bytes) else str(attachment).encode()
            continue
        content = attachment[1]
        yield content.encode("utf-8", "replace") if isinstance(content, str) else bytes(content)


def carries_private_key(message: EmailMessage) -> bool:
    return any(crypto.contains_private_key_material(part) for part in _parts(message))


def loggable_subject(subject: str) -> str:
    """The subject, to name a message in logs and records, unless it is itself the leak."""
    if crypto.contains_private_key_material(subject.encode("utf-8", "replace")):
        return "(subject withheld: it carries private-key material)"
    return subject[:255]


def build_message(
    *,
    to: list[str],
    subject: str,
    body_text: str,
    body_html: str,
    attachments: list[dict[str, str]],
    message_id: str,
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=subject,
        body=body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Message-ID": message_id},
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    for attachment in attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message
