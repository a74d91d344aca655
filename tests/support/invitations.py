"""Invitations in tests: inviting through the service, the link out of the email it sent, and a
mail server that cannot be reached."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from certificates.models import Environment, Invitation
from certificates.services import Actor, invitation_create

PASSWORD = "a long passphrase 42"
LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_-]+)/")


def token_of(link: str) -> str:
    """The token at the end of an invitation link."""
    match = LINK.search(link)
    assert match is not None, link
    return match.group(1)


def invite(
    email: str = "alice@acme.example",
    roles: Sequence[tuple[Environment, str]] = (),
    *,
    actor: Actor | None = None,
) -> tuple[Invitation, str]:
    """Invite through the service (setup); the invitation and its token."""
    invitation, link = invitation_create(actor=actor or Actor.cli(), email=email, roles=[*roles])
    return invitation, token_of(link)


def invitation_emails() -> list[EmailMessage]:
    return [message for message in mail.outbox if message.subject == "You are invited to certdesk"]


def token_in(message: EmailMessage) -> str:
    """The token of the link an invitation email carries (in its text part)."""
    return token_of(str(message.body))


class UnreachableMailServer(BaseEmailBackend):
    """CERTDESK_EMAIL_BACKEND of a mail server that refuses the connection."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise ConnectionRefusedError(111, "Connection refused")
