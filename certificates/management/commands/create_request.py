"""``manage.py create_request``: a new RSA 2048 key and its CSR, made and kept by certdesk."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from certificates import crypto, services
from certificates.crypto.errors import FIELD_LABELS
from certificates.permissions import Action
from certificates.services.keys import company_name

from ._common import (
    CertdeskCommand,
    add_environment_argument,
    add_purpose_argument,
    environment_from,
    new_files,
    output_directory,
    purpose_from,
    refuse_existing,
    require_role,
)

# (option, field of crypto.Subject), in the order of Treezor's table.
SUBJECT_OPTIONS = tuple(("--" + field.replace("_", "-"), field) for field in crypto.SUBJECT_FIELDS)


def subject_problems(error: crypto.SubjectError) -> str:
    """Every field problem on one line: ``Country: ...; Common Name: ...``.

    The messages often open with their field's label already ("Country must be ..."); it is
    dropped there so that the line does not read "Country: Country must be ...".
    """
    parts = []
    for field, message in error.errors.items():
        label = FIELD_LABELS[field]
        text = message.removeprefix(label).strip().rstrip(".")
        # "State / Province: is required: the state ..." would stumble over its two colons.
        if text.startswith("is required: "):
            text = "required, " + text.removeprefix("is required: ")
        parts.append(f"{label}: {text}")
    return "; ".join(parts) + "."


class Command(CertdeskCommand):
    help = (
        "Generate a new RSA 2048 key and its CSR for one environment and purpose. The key stays "
        "encrypted in certdesk (take it with export_key); --out writes the CSR to send to your "
        "Treezor TAM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_environment_argument(parser, required=True)
        add_purpose_argument(parser, required=True)
        # Not argparse-required: validate_subject reports every missing field in one line,
        # together with the other problems, where argparse would stop at the first.
        for option, field in SUBJECT_OPTIONS:
            parser.add_argument(option, dest=field, default="", help=FIELD_LABELS[field])
        parser.add_argument(
            "--out", metavar="DIR", help="Write the CSR into this existing directory."
        )

    def run(self, options: dict[str, Any]) -> None:
        environment = environment_from(options["environment"], self.actor)
        require_role(self.actor, Action.REQUEST, environment, "create signing requests")
        purpose = purpose_from(options["purpose"])
        try:
            subject = crypto.validate_subject(
                **{field: options[field] for _, field in SUBJECT_OPTIONS}
            )
        except crypto.SubjectError as error:
            raise CommandError(subject_problems(error)) from None

        csr_path = None
        if options["out"] is not None:
            # Checked before the key is made, so a wrong --out changes nothing.
            csr_path = output_directory(options["out"]) / crypto.treezor_filename(
                company_name(), "csr", purpose
            )
            refuse_existing(csr_path)

        # One transaction around the request and its file: if the CSR cannot be written, the
        # request is not kept either (the files are removed if the commit fails). The key is
        # then generated inside the transaction; a tenth of a second is fine for a command.
        with new_files() as files, transaction.atomic():
            request = services.request_create(
                actor=self.actor,
                environment=environment,
                purpose=purpose,
                subject=subject,
            )
            if csr_path is not None:
                files.write(csr_path, request.csr_pem.encode("ascii"), private=False)

        self.stdout.write(
            f"Created signing request #{request.pk} for {environment.name} "
            f"{request.get_purpose_display()}: {subject.openssl_oneline()}"
        )
        if csr_path is not None:
            self.stdout.write(str(csr_path))
        self.stdout.write(
            f"Send the CSR to your Treezor TAM. Take the private key with: "
            f"manage.py export_key {request.pk} --out DIR"
        )
