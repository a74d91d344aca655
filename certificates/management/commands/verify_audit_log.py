"""Check the audit log's chain (every broken link) and, with a checkpoint, its length.

Exit status: 0 the log is intact; 1 a link is broken, the log is shorter than the checkpoint or
the checkpoint's signature does not verify; 2 the checkpoint cannot be read (no such file, no
checkpoint in the text); 3 the database cannot be read.
"""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from certificates import auditchain
from certificates.keyfiles import audit_key
from certificates.selectors.audit import audit_chain_verify

from ._common import CertdeskCommand, one_line, read_input_file

EXIT_BROKEN = 1
EXIT_BAD_CHECKPOINT = 2
EXIT_DATABASE_UNREADABLE = 3


class Command(CertdeskCommand):
    administrators_only = True
    help = (
        "Verify the tamper-evident audit log: each event's HMAC covers its content and the "
        "previous event's hash. Reports every broken link. With --checkpoint (the latest "
        "checkpoint, pasted or a file holding it, such as its email), also detects deleted "
        "newest events. Exit status: 0 intact, 1 broken, 2 unreadable checkpoint, "
        "3 database unreadable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            metavar="TEXT|FILE",
            help="The latest checkpoint: the line 'certdesk-audit-checkpoint v1 ...' as logged "
            "or emailed, or the path of a file that holds it (the last one in it is used).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            super().handle(*args, **options)
        except DatabaseError as error:
            raise CommandError(
                "The audit log cannot be read from the database: "
                f"{one_line(str(error)) or type(error).__name__}.",
                returncode=EXIT_DATABASE_UNREADABLE,
            ) from None

    def run(self, options: dict[str, Any]) -> None:
        checkpoint = None
        if options.get("checkpoint") is not None:
            checkpoint = self._checkpoint(options["checkpoint"])
        report = audit_chain_verify(checkpoint=checkpoint)
        if report.breaks:
            for broken in report.breaks:
                where = f"event #{broken.event_id}" if broken.event_id is not None else "the end"
                self.stderr.write(f"Broken at {where}: {broken.problem}.")
            links = len({b.event_id for b in report.breaks if b.event_id is not None})
            hint = ""
            if report.checked and links == report.checked:
                hint = (
                    " Every event fails: if CERTDESK_AUDIT_KEY was changed, set the key the log "
                    "was written with."
                )
            raise CommandError(
                f"The audit log is broken: {len(report.breaks)} problem"
                f"{'s' if len(report.breaks) != 1 else ''} in {report.checked} events "
                f"(listed above).{hint}",
                returncode=EXIT_BROKEN,
            )
        if checkpoint is None:
            self.stdout.write(
                f"The audit log holds: {report.checked} events verified. Without --checkpoint, "
                "deleting the newest events cannot be detected: give the latest checkpoint."
            )
        else:
            self.stdout.write(
                f"The audit log holds: {report.checked} events verified, "
                f"{checkpoint.count} of them up to the checkpoint of "
                f"{checkpoint.at:%Y-%m-%d %H:%M:%S} UTC."
            )

    def _checkpoint(self, value: str) -> auditchain.Checkpoint:
        # Text holding a whole checkpoint (the line, or a pasted email) is the checkpoint; any
        # other value is the path of a file holding one.
        checkpoint = auditchain.checkpoint_parse(value)
        if checkpoint is None:
            try:
                text = read_input_file(value, "the checkpoint").decode("utf-8", "replace")
            except CommandError as error:
                raise CommandError(
                    f"{error} --checkpoint takes the checkpoint line or the path of a file "
                    "that holds it.",
                    returncode=EXIT_BAD_CHECKPOINT,
                ) from None
            checkpoint = auditchain.checkpoint_parse(text)
        if checkpoint is None:
            raise CommandError(
                "No checkpoint found in --checkpoint: give the whole line that starts with "
                f"'{auditchain.CHECKPOINT_PREFIX} v1' (as logged or emailed), or the path of a "
                "file that holds it.",
                returncode=EXIT_BAD_CHECKPOINT,
            )
        if not auditchain.checkpoint_signed_by(checkpoint, audit_key()):
            raise CommandError(
                "The checkpoint's signature does not verify: it was altered, or made with "
                "another CERTDESK_AUDIT_KEY. Nothing was checked against it.",
                returncode=EXIT_BROKEN,
            )
        return checkpoint
