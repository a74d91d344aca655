"""What every certdesk command shares: refusals as one line, lookups, and careful file I/O.

Django skips modules whose name starts with an underscore when it looks for commands, so this
helper never shows up in ``manage.py help``.

A refusal (bad input, a service saying no) is raised as :class:`CommandError`: Django prints it
as one line on stderr, without a traceback, and exits with status 1. Every message here is meant
to be read by the person at the terminal and says what to do next.

Who acts: every command takes ``--user USERNAME``. With it, the command acts as that certdesk
user and the web's rules apply: their roles per environment, objects of environments they may
not view reported as missing (as the web answers 404), administrators' commands refused to
everyone else. Without it, the command acts as the server operator (``Actor.cli()``), who holds
the encryption keys anyway; ``CERTDESK_CLI_REQUIRE_USER=true`` makes ``--user`` mandatory.
``--user`` is not authentication (no password is asked): every event a command records says it
came from the command line and which operating-system login ran it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from certificates import crypto
from certificates.models import Certificate, Environment, Purpose, SigningRequest
from certificates.permissions import Action, environments_for
from certificates.services import Actor, ServiceError
from certificates.vault import VaultError

# A CSR is about 1 KB and a certificate chain a few KB: anything larger is the wrong file, and
# reading no more than this keeps a mistaken path (a disk image, /dev/zero) from filling memory.
MAX_INPUT_BYTES = 1024 * 1024

PURPOSE_METAVAR = "|".join(Purpose.values)


def one_line(message: str) -> str:
    """``message`` on a single line, so that a refusal is always exactly one line on stderr."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


class CertdeskCommand(BaseCommand):
    """A command whose refusals become one clear line: subclasses implement :meth:`run`.

    ServiceError and CryptoError messages are written for users already; PermissionDenied and
    VaultError (wrong or missing CERTDESK_ENCRYPTION_KEYS) are too. Anything else is a bug and
    keeps its traceback.

    Every such command takes ``--user`` (added here, so that no command can forget it) and runs
    as :attr:`actor`; ``administrators_only`` commands refuse a ``--user`` who is not a superuser.
    """

    administrators_only = False
    actor: Actor

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Act as this certdesk user, with their roles (as in the browser). Without it "
            "the command acts as the server operator; CERTDESK_CLI_REQUIRE_USER=true requires it.",
        )
        return parser

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with monitoring_statement_timeout(self._command_name()):
                self.actor = actor_from(options.get("user"))
                if self.administrators_only:
                    require_administrator(self.actor, self._command_name())
                self.run(options)
        except (ServiceError, crypto.CryptoError, PermissionDenied, VaultError) as error:
            raise CommandError(one_line(str(error)) or type(error).__name__) from None

    @property
    def user(self) -> User | None:
        """The ``--user`` given, or None for the server operator."""
        return self.actor.user

    def _command_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def run(self, options: dict[str, Any]) -> None:
        raise NotImplementedError


# --- bounded waits -----------------------------------------------------------------------

# Commands that monitoring runs unattended (cron, Nagios) and that must end with an answer: on
# PostgreSQL each of their statements is bounded by CERTDESK_MONITORING_STATEMENT_TIMEOUT_SECONDS,
# so a locked or overloaded database gives their "database unreadable" exit (3) instead of a
# check that never ends. Connecting is bounded for every command (CERTDESK_DB_CONNECT_TIMEOUT_
# SECONDS, libpq's connect_timeout), which is what answers a stopped or frozen server.
MONITORING_COMMANDS = frozenset({"list_certificates", "verify_audit_log"})


@contextmanager
def monitoring_statement_timeout(command: str) -> Iterator[None]:
    """Within: the statement timeout of a monitoring ``command`` on PostgreSQL (nothing
    elsewhere); reset afterwards, so that a connection shared with the caller (tests,
    call_command) keeps its own."""
    if command not in MONITORING_COMMANDS or connection.vendor != "postgresql":
        yield
        return
    milliseconds = math.ceil(settings.CERTDESK_MONITORING_STATEMENT_TIMEOUT_SECONDS * 1000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{milliseconds}ms"])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
        except DatabaseError:
            pass  # the connection is broken or its transaction aborted: nothing to restore


# --- who acts --------------------------------------------------------------------------------


def actor_from(username: str | None) -> Actor:
    """``Actor(user=...)`` for ``--user``; the server operator without it, unless the
    deployment requires every command line to say who runs it (CERTDESK_CLI_REQUIRE_USER)."""
    if username is None:
        if settings.CERTDESK_CLI_REQUIRE_USER:
            raise CommandError(
                "Say who you are with --user USERNAME: this certdesk requires it on the command "
                "line (CERTDESK_CLI_REQUIRE_USER)."
            )
        return Actor.cli()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"There is no certdesk user '{username}'. Give your login name.")
    if not user.is_active:
        raise CommandError(f"{username}'s account is disabled; an administrator can reactivate it.")
    # The audit log shows the user's name as the actor, with origin "cli" and the OS login
    # that ran the command: --user scopes what the command may do, it does not authenticate.
    return Actor.cli(user)


def require_administrator(actor: Actor, command: str) -> None:
    if actor.user is not None and not actor.user.is_superuser:
        raise CommandError(
            f"{actor.user.get_username()} may not run {command}: it is for certdesk "
            "administrators only."
        )


def require_role(actor: Actor, action: Action, environment: Environment, doing: str) -> None:
    """Refuse, in one line that says what and where, a ``--user`` whose role is too low:
    ``alice may not download private keys in Sandbox``."""
    if actor.user is not None and not actor.may(action, environment):
        raise CommandError(f"{actor.user.get_username()} may not {doing} in {environment.name}.")


def _visible(actor: Actor, environment: Environment) -> bool:
    return actor.may(Action.VIEW, environment)


def add_environment_argument(parser: CommandParser, *, required: bool) -> None:
    parser.add_argument(
        "--environment",
        required=required,
        metavar="SLUG",
        help="Treezor environment, by slug (sandbox, production, or one an admin added).",
    )


def add_purpose_argument(parser: CommandParser, *, required: bool) -> None:
    # Checked by purpose_from(), not argparse's `choices`: argparse would print its usage text
    # too, and a refusal must stay one line.
    parser.add_argument(
        "--purpose",
        required=required,
        metavar=PURPOSE_METAVAR,
        help="mtls (client authentication) or signature (PCI DSS request signing).",
    )


def environment_from(slug: str, actor: Actor | None = None) -> Environment:
    """The environment with this slug, or a refusal that lists the valid slugs: those the
    actor may view (an environment they may not view is unknown to them, as on the web)."""
    visible = (
        environments_for(actor.user)
        if actor is not None and actor.user is not None
        else Environment.objects.all()
    )
    environment = visible.filter(slug=slug).first()
    if environment is None:
        valid = ", ".join(visible.values_list("slug", flat=True)) or "none exist"
        raise CommandError(f"Unknown environment '{slug}'. Valid environments: {valid}.")
    return environment


def purpose_from(value: str) -> str:
    if value not in Purpose.values:
        raise CommandError(
            f"Unknown purpose '{value}'. Choose one of: {', '.join(Purpose.values)}."
        )
    return value


def _id_from(value: str, what: str) -> int:
    # "#12" is how the web pages and messages write ids, so accept it as typed from them.
    text = value.strip().removeprefix("#")
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not text.isdecimal():
        raise CommandError(f"'{value}' is not a {what} id: give its number, such as 12.")
    return int(text)


def signing_request_from(value: str, actor: Actor | None = None) -> SigningRequest:
    """The request with this id; one of an environment the actor may not view is "no such"."""
    pk = _id_from(value, "signing request")
    request = SigningRequest.objects.select_related("environment", "key").filter(pk=pk).first()
    if request is None or (actor is not None and not _visible(actor, request.environment)):
        raise CommandError(f"There is no signing request #{pk}.")
    return request


def certificate_from(value: str, actor: Actor | None = None) -> Certificate:
    """The certificate with this id; one of an environment the actor may not view is "no such"."""
    pk = _id_from(value, "certificate")
    certificate = (
        Certificate.objects.select_related("signing_request", "signing_request__environment")
        .filter(pk=pk)
        .first()
    )
    if certificate is None or (
        actor is not None and not _visible(actor, certificate.signing_request.environment)
    ):
        raise CommandError(f"There is no certificate #{pk}.")
    return certificate


def read_input_file(path_text: str, what: str) -> bytes:
    """The bytes of a file the user named, refusing a missing, unreadable or oversized one."""
    path = Path(path_text)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file. Give the path of {what}.") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory. Give the path of {what}.") from None
    except PermissionError:
        raise CommandError(f"{path} cannot be read: permission denied.") from None
    except OSError as error:
        raise CommandError(f"{path} cannot be read: {error.strerror or error}.") from None
    if len(data) > MAX_INPUT_BYTES:
        raise CommandError(
            f"{path} is larger than 1 MB; {what} is a few kilobytes at most. Check that you "
            "chose the right file."
        )
    return data


def output_directory(path_text: str) -> Path:
    """An existing directory to write into; certdesk does not create it (a typo would go unseen)."""
    path = Path(path_text)
    if not path.is_dir():
        raise CommandError(f"--out {path}: no such directory. Create it first.")
    return path


def _exists_error(path: Path) -> CommandError:
    return CommandError(
        f"{path} exists already and certdesk never overwrites a file. Move it away or choose "
        "another --out directory."
    )


def refuse_existing(*paths: Path) -> None:
    """Refuse before any work is done when a file to be written is there already."""
    for path in paths:
        if path.exists() or path.is_symlink():
            raise _exists_error(path)


class NewFiles:
    """Files written by one command, removed again if the command fails before it ends.

    Used as the outer context around a database transaction, so that a failure anywhere (a
    write, the audit record, the commit) leaves neither a file nor a row behind.
    """

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def write(self, path: Path, data: bytes, *, private: bool) -> None:
        """Create ``path`` with ``data``, never replacing an existing file.

        ``private`` files (keys) get mode 0600 whatever the umask; others get the umask's
        default, as any file the user creates. O_EXCL refuses an existing file or symlink in the
        same system call that creates the new one, so there is no window for a race.
        """
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        mode = 0o600 if private else 0o666
        try:
            fd = os.open(path, flags, mode)
        except FileExistsError:
            raise _exists_error(path) from None
        except OSError as error:
            raise CommandError(f"{path} cannot be written: {error.strerror or error}.") from None
        self.paths.append(path)
        try:
            with os.fdopen(fd, "wb") as handle:
                if private:
                    # The umask can only remove bits; fchmod makes it exactly owner read/write.
                    os.fchmod(handle.fileno(), 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise CommandError(f"{path} cannot be written: {error.strerror or error}.") from None

    def remove_all(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)
        self.paths.clear()


@contextmanager
def new_files() -> Iterator[NewFiles]:
    files = NewFiles()
    try:
        yield files
    except BaseException:
        # A half-written key file, or one whose export was not recorded, must not stay behind.
        files.remove_all()
        raise
