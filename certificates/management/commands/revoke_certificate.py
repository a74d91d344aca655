"""``manage.py revoke_certificate``: ask Treezor to revoke a certificate, as the browser does.

The same services as the certificate page's "Report a compromise" and "Revoke" buttons, so
the TAM receives the same email and the audit log the same events; custodians only, as there.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from certificates.models import Certificate, Revocation
from certificates.permissions import Action
from certificates.services.revocations import revocation_report_compromise, revocation_request

from ._common import CertdeskCommand, certificate_from, require_role

COMPROMISED = "compromised"
NO_LONGER_NEEDED = "no-longer-needed"
REASONS = (COMPROMISED, NO_LONGER_NEEDED)
# As the browser's forms (CompromiseForm, RevokeForm): the note goes into the TAM's email.
MAX_NOTE_LENGTH = 2000


def no_longer_needed_reason(certificate: Certificate) -> str:
    """The browser's "no longer needed" reason that fits: "superseded" once another certificate
    was installed in its place, "cessation of operation" for the one still in service."""
    if certificate.in_service:
        return Revocation.Reason.CESSATION_OF_OPERATION
    return Revocation.Reason.SUPERSEDED


class Command(CertdeskCommand):
    help = (
        "Ask Treezor to revoke a certificate and email the TAM, exactly as the certificate page "
        "does (custodians only). --reason compromised: the private key may have leaked; the key "
        "is marked compromised (suspected since today) and the TAM gets an urgent request. "
        "--reason no-longer-needed: the TAM is asked to revoke it, with the reason "
        "'superseded' when another certificate has replaced it, or 'cessation of operation' "
        "when it is the certificate in service (for any other reason, use the certificate "
        "page, which asks why)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("certificate_id", metavar="CERT_ID", help="The certificate's id.")
        # Checked in run(), not by argparse's `choices`, so that a refusal stays one line.
        parser.add_argument(
            "--reason",
            required=True,
            metavar="|".join(REASONS),
            help="Why: the key may be compromised, or the certificate is no longer needed.",
        )
        parser.add_argument(
            "--note",
            default="",
            metavar="TEXT",
            help="Sent to the TAM with the request (what happened, why). Never paste a key.",
        )

    def run(self, options: dict[str, Any]) -> None:
        reason = options["reason"]
        if reason not in REASONS:
            raise CommandError(f"Unknown reason '{reason}'. Choose one of: {', '.join(REASONS)}.")
        note = options["note"].strip()
        if len(note) > MAX_NOTE_LENGTH:
            raise CommandError(
                f"The note is {len(note)} characters long; keep it to {MAX_NOTE_LENGTH}."
            )
        certificate = certificate_from(options["certificate_id"], self.actor)
        environment = certificate.signing_request.environment
        require_role(self.actor, Action.CUSTODY, environment, "revoke certificates")

        if reason == COMPROMISED:
            revocation = revocation_report_compromise(
                actor=self.actor,
                certificate=certificate,
                suspected_since=timezone.localdate(),
                note=note,
            )
        else:
            revocation = revocation_request(
                actor=self.actor,
                certificate=certificate,
                reason=no_longer_needed_reason(certificate),
                note=note,
            )

        self.stdout.write(
            f"Revocation requested for certificate #{certificate.pk} ({environment.name} "
            f"{certificate.signing_request.get_purpose_display()}, serial {certificate.serial}): "
            f"{revocation.get_reason_display().lower()}."
        )
        if reason == COMPROMISED:
            self.stdout.write(
                f"The key is marked compromised since {revocation.suspected_since:%Y-%m-%d}: "
                "start a replacement request."
            )
        if environment.tam_emails:
            self.stdout.write(
                "The TAM ("
                + ", ".join(environment.tam_emails)
                + ") is being emailed "
                + ("an urgent " if reason == COMPROMISED else "the ")
                + "revocation request now."
            )
        else:
            # Recorded, but nobody at Treezor knows yet: the person at the terminal must act.
            self.stderr.write(
                f"warning: {environment.name} has no TAM address, so no email was sent: "
                "contact Treezor yourself now to revoke the certificate."
            )
