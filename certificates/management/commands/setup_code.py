"""Print a new first-run setup code (the earlier one stops working), while no user exists."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from certificates.services import Actor, FirstRunClosedError, setup_code_issue
from certificates.services.setup import setup_code_announce


class Command(BaseCommand):
    help = (
        "Print a new one-time setup code for the first-run page (/setup/). Only a hash of the "
        "code is stored, so this issues a fresh one and the earlier code stops working. Refused "
        "once the first administrator exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-needed",
            action="store_true",
            help="For a container's start: print a code only if none was issued yet and no user "
            "exists (to the log, like make run); otherwise do nothing and exit 0.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_needed"]:
            if get_user_model().objects.exists():
                return
            if not setup_code_announce(actor=Actor.cli()):
                self.stdout.write(
                    "certdesk: no administrator yet; a setup code was issued already (run "
                    "`manage.py setup_code` for a new one)."
                )
            return
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
