"""The mail backend of every process (``EMAIL_BACKEND``): the configured one, behind the
outgoing guard of rule 3.

Whatever the caller (our tasks, Django's error reports, a future feature), a message that
carries private-key material is refused and the refusal recorded in the audit log, never sent.
It records through the audit service, so it stands above the services (with the tasks); the
check itself is :func:`certificates.emails.carries_private_key`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from certificates import emails
from certificates.services.audit import Actor, audit_record

logger = logging.getLogger(__name__)


class GuardedEmailBackend(BaseEmailBackend):
    """The mail backend of every process: the configured one, behind the private-key guard."""

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.inner = get_connection(
            settings.CERTDESK_EMAIL_BACKEND, fail_silently=fail_silently, **kwargs
        )

    def open(self) -> bool | None:
        opened: bool | None = self.inner.open()
        return opened

    def close(self) -> None:
        self.inner.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        safe = []
        for message in email_messages:
            if emails.carries_private_key(message):
                _record_refusal(message)
                continue
            safe.append(message)
        return self.inner.send_messages(safe) if safe else 0


def _record_refusal(message: EmailMessage) -> None:
    # The subject and recipients say which message; its content is never logged.
    subject = emails.loggable_subject(str(message.subject))
    logger.error("Outgoing guard refused an email carrying private-key material: %r", subject)
    audit_record(
        actor=Actor.system(),
        action="email.refused",
        details={"subject": subject, "to": list(message.to)},
    )
