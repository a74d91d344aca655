"""Check the audit log's hash chain; report the first broken link (exit 1) or say it holds."""

from typing import Any

from django.core.management.base import CommandError

from certificates.services.audit import audit_chain_verify

from ._common import CertdeskCommand


class Command(CertdeskCommand):
    administrators_only = True
    help = (
        "Verify the tamper-evident audit log: each event's hash covers its content and the "
        "previous event's hash. Reports the first event where the chain breaks."
    )

    def run(self, options: dict[str, Any]) -> None:
        checked, broken = audit_chain_verify()
        if broken is not None:
            raise CommandError(
                f"The audit log is broken at event #{broken.event_id}: {broken.problem}. "
                f"{checked} events before it verified."
            )
        self.stdout.write(f"The audit log holds: {checked} events verified.")
