"""``manage.py send_reminders [--dry-run]``: run the expiry scan now, and say what it sent.

The same scan beat runs every CERTDESK_EXPIRY_SCAN_SECONDS; running it by hand as well is safe,
since each reminder is sent at most once whoever runs the scan. ``--dry-run`` lists what the next
scan would send (the same decisions, rows a crashed scan left pending included, and "would prepare
renewal request" where the scan would make one) and writes nothing: no reminder row, no renewal
request, no outbox email, no audit event.

Exit status: 0 every email due was stored in the outbox and handed to the broker (the workers
send it); 1 a refusal (bad --user) or some reminders could not be processed (they stay pending,
the next scan tries them again); 3 the database cannot be read (the scan stopped); 4 the emails
were stored in the outbox but the broker (Redis) could not take them: they leave by themselves
once it is back (beat's requeue pass), so do not run the command again for them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from certificates.services.reminders import expiry_scan

from ._common import CertdeskCommand, one_line

EXIT_ERRORS = 1
EXIT_DATABASE_UNREADABLE = 3
EXIT_BROKER_DOWN = 4


class Command(CertdeskCommand):
    administrators_only = True
    help = (
        "Send the TAM renewal emails and owner reminders that are due now (rules 7 and 9). "
        "Exit status: 0 done, 1 some reminders failed (they stay pending), 3 database "
        "unreadable, 4 emails stored in the outbox but the broker is down (they leave when it "
        "is back)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be sent; write and send nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            super().handle(*args, **options)
        except DatabaseError as error:
            raise CommandError(
                "The database cannot be read, so the scan stopped (anything it stored before "
                "stays stored; the next scan does the rest): "
                f"{one_line(str(error)) or type(error).__name__}",
                returncode=EXIT_DATABASE_UNREADABLE,
            ) from None

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
        code = 0
        if report.waiting_for_broker:
            waiting = report.waiting_for_broker
            minutes = max(1, round(2 * settings.CERTDESK_OUTBOX_REQUEUE_SECONDS / 60))
            self.stderr.write(
                f"{len(waiting)} email(s) stored in the outbox "
                f"({', '.join(f'#{pk}' for pk in waiting)}) but not sent: the broker (Redis) "
                "cannot be reached. They leave by themselves within about "
                f"{minutes} minute(s) of its return; do not run this command again for them."
            )
            code = EXIT_BROKER_DOWN
        if report.errors:
            self.stderr.write(
                f"{len(report.errors)} reminder(s) could not be processed (listed above); they "
                "stay pending and the next scan tries them again."
            )
            code = EXIT_ERRORS
        if code:
            # After the output above; `manage.py` exits with this code (as list_certificates).
            raise SystemExit(code)
