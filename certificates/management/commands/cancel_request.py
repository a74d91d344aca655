"""``manage.py cancel_request``: withdraw a signing request that has no certificate yet.

The same service as the request's page: a generated key is destroyed at once (its fingerprint
is kept, so it is never accepted again), the CSR can no longer be sent, and a certificate for it
is refused. A request that already has a certificate, or was cancelled already, is refused in
one line and nothing changes.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from certificates import services
from certificates.permissions import Action

from ._common import CertdeskCommand, require_role, signing_request_from


class Command(CertdeskCommand):
    help = (
        "Cancel signing request REQUEST_ID (draft, ready or sent, without a certificate): its "
        "generated private key is destroyed and its CSR can no longer be sent. If Treezor has "
        "the CSR already, tell the TAM to ignore it. Recorded in the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id", metavar="REQUEST_ID", help="The signing request's id.")
        parser.add_argument(
            "--reason",
            metavar="TEXT",
            help="Why it is cancelled (kept on its page and in the audit log). Default: "
            '"Cancelled from the command line by <who runs it>".',
        )

    def run(self, options: dict[str, Any]) -> None:
        request = signing_request_from(options["request_id"], self.actor)
        require_role(self.actor, Action.REQUEST, request.environment, "cancel requests")
        reason = options["reason"]
        if reason is None:
            who = self.user.get_username() if self.user is not None else "the server operator"
            reason = f"Cancelled from the command line by {who}"
        was_sent = request.status == request.Status.SENT
        cancelled = services.request_cancel(
            actor=self.actor, signing_request=request, reason=reason
        )
        key = cancelled.key
        said = [
            f"Request #{cancelled.pk} ({cancelled.environment.name} "
            f"{cancelled.get_purpose_display()}) is cancelled"
        ]
        if key.destroyed_at is not None and not key.has_private_key:
            said.append("its private key was destroyed")
        if was_sent:
            said.append("Treezor has its CSR already: tell the TAM to ignore it")
        self.stdout.write("; ".join(said) + ".")
