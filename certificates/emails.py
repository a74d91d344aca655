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
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string

from certificates import crypto
from certificates.models import Environment, Profile

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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
    # Copies and where answers go (issue 16: the team sees what Treezor answers).
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    # Threading with the earlier emails about the same request or certificate (RFC 5322
    # 3.6.4): the first one's Message-ID, and the chain of them, oldest first.
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)


def unique_addresses(*groups: Iterable[str], leaving_out: Iterable[str] = ()) -> list[str]:
    """The addresses of ``groups`` in order, each once whatever its case, without those of
    ``leaving_out`` (an address already in To is not copied again)."""
    seen = {str(address).strip().lower() for address in leaving_out}
    unique: list[str] = []
    for group in groups:
        for address in group:
            text = str(address).strip()
            if text and text.lower() not in seen:
                seen.add(text.lower())
                unique.append(text)
    return unique


@dataclass(frozen=True)
class Sender:
    """Who signs an email to the TAM, and where the TAM's answer goes.

    A person (``user``): their name (first and last, else their user name), their phone when
    their Profile has one, their address. certdesk itself (the expiry scan, the command line
    without ``--user``): "certdesk, for <company>" with the team addresses.
    """

    name: str
    phone: str = ""
    email: str = ""
    person: bool = False
    team: tuple[str, ...] = ()

    def signature(self, company: str) -> list[str]:
        """The lines under "Thank you,"."""
        if not self.person:
            lines = [f"certdesk, for {company}"]
            if self.team:
                lines.append(f"Team: {', '.join(self.team)}")
            return lines
        lines = [f"{self.name}, {company}"]
        if self.phone:
            lines.append(f"Phone: {self.phone}")
        if self.email:
            lines.append(f"Email: {self.email}")
        return lines


def sender_of(user: User | None, environment: Environment) -> Sender:
    """The person who sends an email to ``environment``'s TAM (None: certdesk itself)."""
    team = tuple(unique_addresses(environment.team_emails))
    if user is None:
        return Sender(name="certdesk", team=team)
    name = " ".join(part for part in (user.first_name.strip(), user.last_name.strip()) if part)
    phone = Profile.objects.filter(user_id=user.pk).values_list("phone", flat=True).first() or ""
    return Sender(
        name=name or user.get_username(),
        phone=phone.strip(),
        email=(user.email or "").strip(),
        person=True,
        team=team,
    )


@dataclass(frozen=True)
class Addressing:
    """Who an email to the TAM goes to, who is copied, and where the answer goes."""

    to: list[str]
    cc: list[str]
    reply_to: list[str]


def tam_addressing(environment: Environment, sender: Sender) -> Addressing:
    """``to``, ``cc`` and ``reply_to`` of an email to ``environment``'s TAM.

    Reply-To: the sender's address (a person's), then the team addresses, so that the TAM's
    answer reaches someone, not certdesk's sending address. Cc: the team addresses, unless the
    environment turned that off (``copy_team_on_tam_emails``), and never an address already in
    To.
    """
    to = [str(address) for address in environment.tam_emails]
    team = unique_addresses(environment.team_emails)
    return Addressing(
        to=to,
        cc=unique_addresses(team, leaving_out=to) if environment.copy_team_on_tam_emails else [],
        reply_to=unique_addresses([sender.email] if sender.person else [], team),
    )


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
    cc: list[str] | None = None,
    reply_to: list[str] | None = None,
    in_reply_to: str = "",
    references: list[str] | None = None,
) -> EmailMultiAlternatives:
    headers = {"Message-ID": message_id}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    message = EmailMultiAlternatives(
        subject=subject,
        body=body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        cc=cc or None,
        reply_to=reply_to or None,
        headers=headers,
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    for attachment in attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message
