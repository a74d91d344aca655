"""Print a new first-run setup code (the earlier one stops working), while no user exists."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from certificates.services import Actor, FirstRunClosedError, setup_code_issue


class Command(BaseCommand):
    help = (
        "Print a new one-time setup code for the first-run page (/setup/). Only a hash of the "
        "code is stored, so this issues a fresh one and the earlier code stops working. Refused "
        "once the first administrator exists."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            code = setup_code_issue(actor=Actor.cli())
        except FirstRunClosedError:
            raise CommandError(
                "certdesk is set up already: the setup code only creates the first "
                "administrator. Administrators add people under Settings."
            ) from None
        self.stdout.write(f"certdesk: first-run setup code: {code}")
        self.stdout.write(
            "Enter it on /setup/ to create the first administrator; any earlier code no longer "
            "works."
        )
