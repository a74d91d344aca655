"""Sign a checkpoint of the audit log now: print it, log it, email it to the administrators."""

from typing import Any

from certificates.services.audit_checkpoint import audit_checkpoint_export

from ._common import CertdeskCommand


class Command(CertdeskCommand):
    administrators_only = True
    help = (
        "Sign a checkpoint of the audit log (its length and last hash) and print it; as beat "
        "does hourly, also log it and email it to the administrators if the log changed. Keep "
        "it: verify_audit_log --checkpoint detects deleted events with it."
    )

    def run(self, options: dict[str, Any]) -> None:
        export = audit_checkpoint_export()
        self.stdout.write(export.checkpoint.text)
        if export.email is not None:
            self.stderr.write(f"Emailed to {', '.join(export.recipients)}.")
        elif not export.recipients:
            self.stderr.write(
                "No active administrator has an email address: keep the line above yourself."
            )
