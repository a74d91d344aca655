"""``manage.py export_key``: write a request's private key to a file only its owner can read.

The PKCS#12 passphrase never comes from a command-line argument: those land in the shell's
history and in ``ps`` for every user of the machine to read. It comes from the environment
variable CERTDESK_PKCS12_PASSPHRASE, or from a prompt (typed twice) when run in a terminal.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from certificates import crypto, services
from certificates.models import SigningRequest
from certificates.permissions import Action
from certificates.services.keys import KeyFormat, company_name

from ._common import (
    CertdeskCommand,
    new_files,
    output_directory,
    refuse_existing,
    require_role,
    signing_request_from,
)

PASSPHRASE_VARIABLE = "CERTDESK_PKCS12_PASSPHRASE"  # noqa: S105 - a name, not a secret


@sensitive_variables("first", "second")
def _prompt_passphrase() -> str:
    try:
        first = getpass.getpass("Passphrase for the .p12 file: ")
        second = getpass.getpass("Same passphrase again: ")
    except (EOFError, KeyboardInterrupt):
        raise CommandError("No passphrase given; nothing was written.") from None
    if first != second:
        raise CommandError("The two passphrases differ; nothing was written.")
    return first


def _passphrase(request: SigningRequest) -> str | None:
    if PASSPHRASE_VARIABLE in os.environ:
        return os.environ[PASSPHRASE_VARIABLE]
    # A request that cannot give a .p12 (no private key here, no certificate yet) goes straight
    # to key_export, which explains why, instead of asking for a passphrase for nothing.
    if not request.key.has_private_key or not request.certificates.exists():
        return None
    if sys.stdin is None or not sys.stdin.isatty():
        raise CommandError(
            f"A .p12 file needs a passphrase: set {PASSPHRASE_VARIABLE}, or run the command in "
            "a terminal to be asked for one."
        )
    return _prompt_passphrase()


class Command(CertdeskCommand):
    help = (
        "Write the private key of a signing request into DIR, as PKCS#1 PEM or, with --pkcs12, "
        "as a .p12 file with its certificate and chain (passphrase from "
        f"{PASSPHRASE_VARIABLE} or a prompt). The file gets mode 0600; an existing file is "
        "never overwritten. Every export is recorded in the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id", metavar="REQUEST_ID", help="The signing request's id.")
        parser.add_argument(
            "--out", metavar="DIR", required=True, help="An existing directory to write into."
        )
        parser.add_argument(
            "--pkcs12",
            action="store_true",
            help="Write a PKCS#12 (.p12) file with the key, the certificate and its chain.",
        )

    @sensitive_variables("passphrase", "export")
    def run(self, options: dict[str, Any]) -> None:
        request = signing_request_from(options["request_id"], self.actor)
        require_role(self.actor, Action.CUSTODY, request.environment, "download private keys")
        directory = output_directory(options["out"])
        key_format: KeyFormat = "pkcs12" if options["pkcs12"] else "pem"
        # Checked before the key is decrypted (and a passphrase asked for); the exclusive
        # create in NewFiles.write remains the real guard.
        kind: crypto.FileKind = "p12" if key_format == "pkcs12" else "privatekey"
        refuse_existing(directory / crypto.treezor_filename(company_name(), kind, request.purpose))
        passphrase = _passphrase(request) if key_format == "pkcs12" else None

        # key_export records the audit event; the outer transaction keeps that record only if
        # the file was written, and new_files removes the file if the record is not kept.
        with new_files() as files, transaction.atomic():
            export = services.key_export(
                actor=self.actor,
                signing_request=request,
                key_format=key_format,
                passphrase=passphrase,
            )
            path = directory / export.filename
            files.write(path, export.content, private=True)
        self.stdout.write(str(path))
