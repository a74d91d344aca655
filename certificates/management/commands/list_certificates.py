"""``manage.py list_certificates``: every certificate with its status, for people and monitoring.

Exit status, for monitoring (Nagios-style): 0 when all is well, 1 when a certificate is inside
its renewal window, 2 when one has expired, 3 when the database cannot be read or the check is
refused (--user unknown, disabled, or missing under CERTDESK_CLI_REQUIRE_USER), so that a
broken check is not mistaken for "renewal due". Only certificates in service count (one per
environment and purpose, the one installed last): a superseded certificate that expires never
makes monitoring red, and revoked or revocation-requested ones say so in their status instead.
Every certificate is listed all the same, with whether it is in service.
Argument errors also exit with 2 (argparse's own convention), with a usage message on stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from certificates.models import Certificate
from certificates.permissions import environments_for
from certificates.selectors import (
    CertificateStatus,
    certificates_with_status,
    days_left,
    status_of,
)

from ._common import CertdeskCommand, one_line

EXIT_OK = 0
EXIT_RENEWAL_DUE = 1
EXIT_EXPIRED = 2
EXIT_UNKNOWN = 3

COLUMNS = (
    "ID",
    "ENVIRONMENT",
    "PURPOSE",
    "SERIAL",
    "COMMON NAME",
    "NOT AFTER",
    "DAYS LEFT",
    "IN SERVICE",
    "STATUS",
)


def _replaced_by_id(certificate: Certificate) -> int | None:
    """The id of the certificate installed in this one's place, or None."""
    try:
        # select_related in certificates_with_status(): no query, even when there is none.
        return certificate.replaced_by.pk
    except Certificate.DoesNotExist:  # a missing reverse one-to-one raises
        return None


def _row(certificate: Certificate, now: datetime) -> dict[str, Any]:
    request = certificate.signing_request
    # common_name is the one asked for; upload_certificate warns when the certificate's differs.
    return {
        "id": certificate.pk,
        "environment": request.environment.slug,
        "purpose": request.purpose,
        "serial": certificate.serial,
        "common_name": request.common_name,
        "not_before": certificate.not_before.isoformat(),
        "not_after": certificate.not_after.isoformat(),
        # Whole days, rounded down: "0" is the last day, negative numbers are days since expiry.
        "days_left": days_left(certificate.not_after, now),
        "status": str(status_of(certificate, now=now)),
        "signing_request": request.pk,
        "in_service": certificate.in_service,
        "superseded_by": _replaced_by_id(certificate),
        "replaces": certificate.replaces_id,
    }


def exit_status(statuses: list[str]) -> int:
    if CertificateStatus.EXPIRED in statuses:
        return EXIT_EXPIRED
    if CertificateStatus.RENEWAL_DUE in statuses:
        return EXIT_RENEWAL_DUE
    return EXIT_OK


class Command(CertdeskCommand):
    help = (
        "List every certificate with its status and whether it is in service. Exit status, "
        "from the certificates in service only: 0 all well, 1 one is inside its renewal "
        "window, 2 one has expired; 3 the database cannot be read or the check was refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="Print a JSON list of objects instead of a table."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Around everything, --user's lookup included: a broken check must exit 3, never 1
        # (which monitoring reads as "renewal due").
        try:
            super().handle(*args, **options)
        except DatabaseError as error:
            raise CommandError(
                one_line(f"The certificates cannot be read from the database: {error}"),
                returncode=EXIT_UNKNOWN,
            ) from None
        except CommandError as error:
            if error.returncode == EXIT_RENEWAL_DUE:
                raise CommandError(str(error), returncode=EXIT_UNKNOWN) from None
            raise

    def run(self, options: dict[str, Any]) -> None:
        # One moment for every row and status, so a run at midnight cannot disagree with itself.
        now = timezone.now()
        certificates = certificates_with_status(now=now)
        if self.user is not None:
            # --user sees what the web shows them: the environments they may view.
            certificates = certificates.filter(
                signing_request__environment__in=environments_for(self.user)
            )
        rows = [_row(certificate, now) for certificate in certificates]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
        elif rows:
            self._table(rows)
        else:
            self.stdout.write("No certificates yet.")

        # Monitoring asks "is what runs now about to break?": certificates in service only.
        statuses = [row["status"] for row in rows if row["in_service"]]
        code = exit_status(statuses)
        if code != EXIT_OK:
            expired = statuses.count(CertificateStatus.EXPIRED)
            due = statuses.count(CertificateStatus.RENEWAL_DUE)
            # On stderr, so that --json output stays pure JSON; cron mails it either way.
            self.stderr.write(f"{expired} expired, {due} inside the renewal window.")
            # BaseCommand lets SystemExit through untouched (it only catches CommandError),
            # after the output above is written; `manage.py` then exits with this code.
            raise SystemExit(code)

    def _table(self, rows: list[dict[str, Any]]) -> None:
        cells = [
            [
                f"#{row['id']}",
                row["environment"],
                row["purpose"],
                row["serial"],
                row["common_name"],
                # In UTC whatever TIME_ZONE says, as certificates and `openssl x509` state it.
                datetime.fromisoformat(row["not_after"])
                .astimezone(UTC)
                .strftime("%Y-%m-%d %H:%M UTC"),
                str(row["days_left"]),
                "yes" if row["in_service"] else "",
                row["status"],
            ]
            for row in rows
        ]
        widths = [
            max(len(line[i]) for line in [list(COLUMNS), *cells]) for i in range(len(COLUMNS))
        ]
        for line in [list(COLUMNS), *cells]:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(line, widths, strict=True)
                ).rstrip()
            )
