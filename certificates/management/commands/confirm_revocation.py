"""``manage.py confirm_revocation``: record that Treezor confirmed a revocation, as the
certificate page's "Treezor confirmed" button does (custodians only)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from certificates.models import Key, Revocation
from certificates.permissions import Action
from certificates.services.revocations import revocation_confirm

from ._common import CertdeskCommand, certificate_from, require_role

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_from(value: str) -> date:
    """A calendar date written YYYY-MM-DD, and nothing looser (date.fromisoformat would also
    take "20261128" or "2026-W48-6")."""
    text = value.strip()
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise CommandError(f"--date '{value}' is not a date: give it as YYYY-MM-DD, e.g. 2026-11-28.")


class Command(CertdeskCommand):
    help = (
        "Record that Treezor confirmed the revocation of a certificate (requested earlier with "
        "revoke_certificate or on the certificate page): its status becomes 'revoked'. "
        "--date is the day Treezor confirmed, today by default."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("certificate_id", metavar="CERT_ID", help="The certificate's id.")
        parser.add_argument(
            "--date",
            metavar="YYYY-MM-DD",
            help="The day Treezor confirmed the revocation (default: today).",
        )

    def run(self, options: dict[str, Any]) -> None:
        confirmed_on = date_from(options["date"]) if options["date"] else timezone.localdate()
        certificate = certificate_from(options["certificate_id"], self.actor)
        environment = certificate.signing_request.environment
        require_role(self.actor, Action.CUSTODY, environment, "record revocations")
        revocation = Revocation.objects.filter(certificate=certificate).first()
        if revocation is None:
            raise CommandError(
                f"No revocation was requested for certificate #{certificate.pk}: ask for one "
                "first (revoke_certificate), then record Treezor's confirmation."
            )
        if revocation.confirmed_at is not None:
            raise CommandError(
                f"The revocation of certificate #{certificate.pk} was confirmed already, on "
                f"{timezone.localdate(revocation.confirmed_at):%Y-%m-%d}."
            )

        revocation_confirm(actor=self.actor, revocation=revocation, confirmed_on=confirmed_on)

        self.stdout.write(
            f"Recorded: Treezor revoked certificate #{certificate.pk} ({environment.name} "
            f"{certificate.signing_request.get_purpose_display()}, serial {certificate.serial}) "
            f"on {confirmed_on:%Y-%m-%d}."
        )
        # Asked of the database, so that the encrypted key is not even read into memory.
        if Key.objects.filter(
            pk=certificate.signing_request.key_id, encrypted_private_key__isnull=False
        ).exists():
            self.stdout.write(
                "certdesk still holds its private key: a custodian can destroy it on the "
                "certificate's page."
            )
