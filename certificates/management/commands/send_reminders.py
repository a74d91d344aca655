"""``manage.py send_reminders [--dry-run]``: run the expiry scan now, and say what it sent.

The same scan beat runs every CERTDESK_EXPIRY_SCAN_SECONDS; running it by hand as well is safe,
since each reminder is sent at most once whoever runs the scan. ``--dry-run`` lists what the next
scan would send (the same decisions, rows a crashed scan left pending included, and "would prepare
renewal request" where the scan would make one) and writes nothing: no reminder row, no renewal
request, no outbox email, no audit event.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from certificates.services.reminders import expiry_scan

from ._common import CertdeskCommand


class Command(CertdeskCommand):
    administrators_only = True
    help = "Send the TAM renewal emails and owner reminders that are due now (rules 7 and 9)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be sent; write and send nothing.",
        )

    def run(self, options: dict[str, Any]) -> None:
        report = expiry_scan(dry_run=options["dry_run"])
        for line in report.lines():
            self.stdout.write(line)
        summary = report.summary()
        if report.dry_run:
            self.stdout.write(
                f"Dry run: {summary['candidates']} certificate(s) looked at, "
                f"{summary['would_send']} email(s) would be sent; nothing was written."
            )
            return
        self.stdout.write(
            f"{summary['candidates']} certificate(s) looked at: {summary['queued']} email(s) "
            f"queued, {summary['skipped']} reminder(s) skipped, {summary['failed']} failed, "
            f"{summary['requeued_emails']} outbox email(s) queued again."
        )
        if report.errors:
            self.stderr.write(
                f"{len(report.errors)} reminder(s) could not be processed; they stay pending "
                "and the next scan tries them again."
            )
