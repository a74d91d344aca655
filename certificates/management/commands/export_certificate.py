"""``manage.py export_certificate``: write a certificate (and its chain) under Treezor's names."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction

from certificates import crypto, services
from certificates.services.keys import company_name

from ._common import (
    CertdeskCommand,
    certificate_from,
    new_files,
    output_directory,
    refuse_existing,
)


class Command(CertdeskCommand):
    help = (
        "Write a certificate as <company>_cert_<purpose>.pem into DIR and, when Treezor sent "
        "intermediates, its chain as <company>_chain_<purpose>.pem. Existing files are never "
        "overwritten."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("certificate_id", metavar="CERT_ID", help="The certificate's id.")
        parser.add_argument(
            "--out", metavar="DIR", required=True, help="An existing directory to write into."
        )

    def run(self, options: dict[str, Any]) -> None:
        # Viewers may take certificates (they are not secret): being able to see it is enough.
        certificate = certificate_from(options["certificate_id"], self.actor)
        request = certificate.signing_request
        directory = output_directory(options["out"])
        company = company_name()
        contents = {
            directory / crypto.treezor_filename(company, "cert", request.purpose): certificate.pem
        }
        if certificate.chain_pem.strip():
            chain_path = directory / crypto.treezor_filename(company, "chain", request.purpose)
            contents[chain_path] = certificate.chain_pem
        # All or nothing: no file is written when one of them is there already.
        refuse_existing(*contents)

        # Certificates are not secret, but who took which one where is still worth knowing; the
        # record is kept only if every file was written.
        with new_files() as files, transaction.atomic():
            for path, pem in contents.items():
                files.write(path, pem.encode("ascii"), private=False)
            services.audit_record(
                actor=self.actor,
                action="certificate.exported",
                target=certificate,
                environment=request.environment,
                details={
                    "serial": certificate.serial,
                    "files": [path.name for path in contents],
                },
            )
        for path in contents:
            self.stdout.write(str(path))
