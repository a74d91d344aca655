"""``manage.py rotate_encryption_keys``: re-encrypt every private key under the first key.

Rotation, step by step: put a new key first in CERTDESK_ENCRYPTION_KEYS (keep the old ones after
it), restart certdesk, run this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from certificates import services, vault
from certificates.models import Key

from ._common import CertdeskCommand

DEFAULT_BATCH_SIZE = 200


def _batch_size(value: str) -> int:
    # Parsed here rather than by argparse's type=int, so a bad value is one line, not usage text.
    if not value.strip().isdecimal() or int(value) < 1:
        raise CommandError(f"--batch-size must be a whole number of at least 1, not '{value}'.")
    return int(value)


class Command(CertdeskCommand):
    administrators_only = True
    help = (
        "Re-encrypt every stored private key with the first key of CERTDESK_ENCRYPTION_KEYS, "
        "in batches (one transaction each). Safe to interrupt and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            default=str(DEFAULT_BATCH_SIZE),
            metavar="N",
            help=f"Keys per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def run(self, options: dict[str, Any]) -> None:
        batch_size = _batch_size(options["batch_size"])
        count = services.encryption_keys_rotate(actor=self.actor, batch_size=batch_size)
        current = vault.current_key_id()
        # The advice below is only true if nothing is left under an older key: check, not trust.
        left = (
            Key.objects.filter(encrypted_private_key__isnull=False)
            .exclude(encryption_key_id=current)
            .count()
        )
        if left:
            raise CommandError(
                f"{left} private keys are still under an older key; run this command again "
                "before removing any key from CERTDESK_ENCRYPTION_KEYS."
            )
        self.stdout.write(f"Re-encrypted {count} private keys; key id {current} is now in use.")
        if len(vault.configured_keys()) > 1:
            self.stdout.write(
                "Every stored private key is under that key now: the older keys can be removed "
                "from CERTDESK_ENCRYPTION_KEYS (keep the first one)."
            )
        else:
            self.stdout.write("CERTDESK_ENCRYPTION_KEYS holds only that key; nothing to remove.")
