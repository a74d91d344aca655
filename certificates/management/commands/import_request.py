"""``manage.py import_request``: keep a CSR the user made with their own key (public half only)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from certificates import services
from certificates.permissions import Action

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
        "Import a CSR you made yourself (openssl req -new ...). certdesk keeps the CSR and its "
        "public key only; the private key stays with you."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help="The CSR file (PEM or DER).")
        add_environment_argument(parser, required=True)
        add_purpose_argument(parser, required=True)

    def run(self, options: dict[str, Any]) -> None:
        environment = environment_from(options["environment"], self.actor)
        require_role(self.actor, Action.REQUEST, environment, "import signing requests")
        purpose = purpose_from(options["purpose"])
        data = read_input_file(options["path"], "a CSR")
        request = services.request_import(
            actor=self.actor, environment=environment, purpose=purpose, csr_data=data
        )
        self.stdout.write(
            f"Imported signing request #{request.pk} for {environment.name} "
            f"{request.get_purpose_display()} ({request.common_name}). certdesk keeps only its "
            "public key: keep your private key safe."
        )
