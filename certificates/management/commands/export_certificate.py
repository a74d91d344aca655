"""``manage.py export_certificate``: write a certificate (and its chain) under Treezor's names."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction

from certificates import services

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
        directory = output_directory(options["out"])
        # All or nothing: no file is written when one of them is there already, and the record
        # (certificate_export's, as in the browser) is kept only if every file was written.
        with new_files() as files, transaction.atomic():
            exported = services.certificate_export(
                actor=self.actor, certificate=certificate, part="files"
            )
            contents = {directory / file.filename: file.content for file in exported}
            refuse_existing(*contents)
            for path, content in contents.items():
                files.write(path, content, private=False)
        for path in contents:
            self.stdout.write(str(path))
