"""``manage.py invite_user EMAIL [--environment SLUG --role ROLE]...``: invite someone, as
Settings -> People -> Invite someone does.

The same service as the page: the account, its roles, a one-time link emailed to EMAIL (valid
CERTDESK_INVITATION_HOURS), audited. The command prints where the email went and until when the
link works, never the link itself: it is the invited person's to open.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from certificates import services
from certificates.models import Environment, Role
from certificates.services.invitations import expiry_text, role_phrases_of

from ._common import CertdeskCommand, environment_from

ROLE_METAVAR = "|".join(Role.values)


class Command(CertdeskCommand):
    help = (
        "Invite EMAIL to certdesk: they receive a one-time link (valid "
        "CERTDESK_INVITATION_HOURS, 72 by default) to choose their password. Give each role as "
        "--environment SLUG --role ROLE, repeated per environment. Administrators only; "
        "recorded in the audit log."
    )
    administrators_only = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", metavar="EMAIL", help="Their address (also their user name).")
        # Checked in run(), not by argparse's `choices`: a refusal stays one line.
        parser.add_argument(
            "--environment",
            action="append",
            default=[],
            metavar="SLUG",
            help="An environment to give them a role in; followed by its --role.",
        )
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            metavar=ROLE_METAVAR,
            help="Their role in the --environment before it.",
        )
        parser.add_argument("--first-name", default="", metavar="TEXT")
        parser.add_argument("--last-name", default="", metavar="TEXT")

    def run(self, options: dict[str, Any]) -> None:
        slugs: list[str] = options["environment"]
        role_names: list[str] = options["role"]
        if len(slugs) != len(role_names):
            raise CommandError(
                f"Give one --role for each --environment (got {len(slugs)} environment(s) and "
                f"{len(role_names)} role(s)): --environment sandbox --role viewer "
                "--environment production --role custodian."
            )
        roles: list[tuple[Environment, str]] = []
        for slug, role in zip(slugs, role_names, strict=True):
            if role not in Role.values:
                raise CommandError(
                    f"Unknown role '{role}' for {slug}. Choose one of: {', '.join(Role.values)}."
                )
            roles.append((environment_from(slug, self.actor), role))
        invitation, _link = services.invitation_create(
            actor=self.actor,
            email=options["email"],
            roles=roles,
            first_name=options["first_name"],
            last_name=options["last_name"],
        )
        given = role_phrases_of(roles) if roles else ["no role yet"]
        self.stdout.write(
            f"Invitation sent to {invitation.email} ({', '.join(given)}); the link expires "
            f"{expiry_text(invitation.expires_at)}."
        )
