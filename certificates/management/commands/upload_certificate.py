"""``manage.py upload_certificate``: store the certificate Treezor signed for a request."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from certificates import crypto, services
from certificates.permissions import Action, environments_for
from certificates.services.certificates import ConfirmationNeeded

from ._common import (
    CertdeskCommand,
    add_environment_argument,
    add_purpose_argument,
    environment_from,
    purpose_from,
    read_input_file,
    require_role,
)


class Command(CertdeskCommand):
    help = (
        "Upload the certificate Treezor sent back (PEM, DER or PKCS#7, with its chain). It is "
        "matched to its signing request by public key; --environment and --purpose narrow the "
        "match. Installing it puts it in service for its environment and purpose; replacing "
        "a valid certificate needs --replace, and trusting the issuer of an environment that has "
        "no Treezor CA yet needs --trust-issuer (administrators, or the operator without --user)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help="The certificate file.")
        add_environment_argument(parser, required=False)
        add_purpose_argument(parser, required=False)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Replace the certificate in service even though it is still valid, or install "
            "a second certificate for the same request.",
        )
        parser.add_argument(
            "--trust-issuer",
            action="store_true",
            help="The environment has no Treezor CA yet: trust the issuer this file carries "
            "(its chain) as the environment's Treezor CA. Check its fingerprint with your TAM.",
        )

    def run(self, options: dict[str, Any]) -> None:
        environment = (
            environment_from(options["environment"], self.actor) if options["environment"] else None
        )
        if environment is not None:
            require_role(self.actor, Action.REQUEST, environment, "upload certificates")
        elif self.user is not None and not environments_for(self.user, Action.REQUEST).exists():
            raise CommandError(
                f"{self.user.get_username()} may not upload certificates in any environment."
            )
        purpose = purpose_from(options["purpose"]) if options["purpose"] else None
        data = read_input_file(options["path"], "a certificate")
        try:
            result = services.certificate_upload(
                actor=self.actor,
                data=data,
                environment=environment,
                purpose=purpose,
                replace=options["replace"],
                trust_issuer=options["trust_issuer"],
            )
        except ConfirmationNeeded as question:
            flags = " and ".join(
                flag
                for kind, flag in (("trust_issuer", "--trust-issuer"), ("replace", "--replace"))
                if question.asks(kind)
            )
            raise CommandError(
                f"{question.message} Nothing was stored; run again with {flags}."
            ) from None
        certificate = result.certificate
        request = certificate.signing_request
        leaf = crypto.parse_certificates(certificate.pem.encode("ascii"))[0]
        if result.trusted_issuer:
            self.stdout.write(
                f"{request.environment.name}'s Treezor CA is now the issuer of this certificate "
                f"({certificate.issuer})."
            )
        self.stdout.write(
            f"Certificate #{certificate.pk} fulfils signing request #{request.pk} "
            f"({request.environment.name} {request.get_purpose_display()}, "
            f"{request.common_name}) and is in service"
            + (f"; it replaces certificate #{result.replaced.pk}." if result.replaced else ".")
        )
        # Exactly what `openssl x509 -startdate -enddate -noout` prints, so users can compare.
        self.stdout.write(crypto.openssl_dates(leaf))
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
