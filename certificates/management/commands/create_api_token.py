"""``manage.py create_api_token USERNAME --name NAME --environment SLUG --scope SCOPE
--expires YYYY-MM-DD``: a personal API token for USERNAME, for provisioning pipelines.

The same service as the Profile's token page: the token never does more than USERNAME's roles
allow, lives a year at most, and is recorded in the audit log. The token is printed once, alone
on stdout (``TOKEN=$(manage.py create_api_token ...)``); what it may do goes to stderr. Only
its SHA-256 is kept: it cannot be shown again. With ``--user``, only USERNAME themselves or an
administrator may make it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from certificates.models import ApiToken, Environment
from certificates.services.api_tokens import api_token_create

from ._common import CertdeskCommand, environment_from

SCOPE_METAVAR = "|".join(ApiToken.Scope.values)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--expires {text!r} is not a date: write it as YYYY-MM-DD.") from None


class Command(CertdeskCommand):
    help = (
        "Make a personal API token for USERNAME: --name, one or more --environment SLUG and "
        f"--scope {SCOPE_METAVAR}, and --expires YYYY-MM-DD (a year at most). The token is "
        "printed once on stdout; certdesk keeps only its fingerprint. Recorded in the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", metavar="USERNAME", help="Whose token it is.")
        parser.add_argument(
            "--name", required=True, metavar="NAME", help="Where it is used: deploy-prod."
        )
        # Checked in run(), not by argparse's `choices`: a refusal stays one line.
        parser.add_argument(
            "--environment",
            action="append",
            default=[],
            metavar="SLUG",
            help="An environment the token may act in (repeat for more).",
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar=SCOPE_METAVAR,
            help="What it may do: read, request, custody (repeat for more).",
        )
        parser.add_argument(
            "--expires",
            required=True,
            metavar="YYYY-MM-DD",
            help="The day it stops working (at its start), within a year.",
        )

    @sensitive_variables("new")
    def run(self, options: dict[str, Any]) -> None:
        username: str = options["username"]
        owner = get_user_model().objects.filter(username=username).first()
        if owner is None:
            raise CommandError(f"There is no certdesk user '{username}'.")
        slugs: list[str] = options["environment"]
        if not slugs:
            raise CommandError("Give at least one --environment SLUG the token may act in.")
        environments: list[Environment] = [environment_from(slug) for slug in slugs]
        new = api_token_create(
            actor=self.actor,
            user=owner,
            name=options["name"],
            environments=environments,
            scopes=options["scope"],
            expires_on=_day(options["expires"]),
        )
        token = new.token
        self.stderr.write(
            f"API token “{token.name}” of {owner.get_username()}: "
            f"{', '.join(token.scopes)} in {', '.join(e.slug for e in environments)}, until "
            f"{token.expires_at:%Y-%m-%d}. Shown once: keep it now."
        )
        self.stdout.write(new.secret)
