"""Print a new key for CERTDESK_ENCRYPTION_KEYS; it stores nothing and reads no settings."""

from typing import Any

from django.core.management.base import BaseCommand

from config.environment import new_encryption_key


class Command(BaseCommand):
    help = (
        "Print a new 256-bit key for CERTDESK_ENCRYPTION_KEYS. Put it first in the list to "
        "encrypt with it; keep the older keys after it until rotate_encryption_keys has run."
    )
    requires_system_checks: list[str] = []  # noqa: RUF012 - typed as an instance attribute upstream

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(new_encryption_key())
