"""``manage.py upload_certificate``: store the certificate Treezor signed for a request."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from certificates import crypto, services
from certificates.permissions import Action, environments_for

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
        "match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help="The certificate file.")
        add_environment_argument(parser, required=False)
        add_purpose_argument(parser, required=False)

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
        result = services.certificate_upload(
            actor=self.actor, data=data, environment=environment, purpose=purpose
        )
        certificate = result.certificate
        request = certificate.signing_request
        leaf = crypto.parse_certificates(certificate.pem.encode("ascii"))[0]
        self.stdout.write(
            f"Certificate #{certificate.pk} fulfils signing request #{request.pk} "
            f"({request.environment.name} {request.get_purpose_display()}, "
            f"{request.common_name})."
        )
        # Exactly what `openssl x509 -startdate -enddate -noout` prints, so users can compare.
        self.stdout.write(crypto.openssl_dates(leaf))
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
