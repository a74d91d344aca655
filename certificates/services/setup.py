"""The first run: the one-time setup code and the first administrator it lets in."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from certificates.models import SetupCode
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.people import password_problem

logger = logging.getLogger("certdesk.setup")

# Letters and digits nobody misreads (no 0/O, 1/I/L); 10 of them carry about 49 bits.
SETUP_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SETUP_CODE_LENGTH = 10
WRONG_SETUP_CODE = (
    "This is not the current setup code. Copy it from the server's log (the line "
    '"certdesk: first-run setup code: ..."), or run "python manage.py setup_code" on the server '
    "for a new one."
)


class FirstRunClosedError(Exception):
    """The first administrator exists already; the first-run page is gone."""


def _digest(code: str) -> str:
    """The stored form of a code, as typed or printed: case, spaces and dashes do not count."""
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode("utf-8", "replace")).hexdigest()


def _new_code() -> str:
    letters = "".join(secrets.choice(SETUP_CODE_ALPHABET) for _ in range(SETUP_CODE_LENGTH))
    half = SETUP_CODE_LENGTH // 2
    return f"{letters[:half]}-{letters[half:]}"


def _announce(code: str) -> None:
    logger.warning("certdesk: first-run setup code: %s", code)


def setup_code_issue(*, actor: Actor) -> str:
    """A fresh setup code (the earlier one stops working), returned for the caller to print.

    Refused (FirstRunClosedError) once a user exists: the code only lets in the first
    administrator. Only its SHA-256 is stored, in one row every web process reads.
    """
    code = _new_code()
    with transaction.atomic():
        if get_user_model().objects.exists():
            raise FirstRunClosedError
        replaced = SetupCode.objects.filter(pk=1).exists()
        SetupCode.objects.update_or_create(
            pk=1, defaults={"code_sha256": _digest(code), "created_at": timezone.now()}
        )
        audit_record(actor=actor, action="setup.code_issued", details={"replaced": replaced})
    return code


def setup_code_announce(*, actor: Actor) -> bool:
    """At the first start or visit of a fresh installation: issue the setup code and print it
    to the server's log, once (several web processes agree through the database). True if it
    did."""
    if SetupCode.objects.filter(pk=1).exists() or get_user_model().objects.exists():
        return False
    code = _new_code()
    with transaction.atomic():
        _row, created = SetupCode.objects.get_or_create(
            pk=1, defaults={"code_sha256": _digest(code)}
        )
        if created:
            audit_record(actor=actor, action="setup.code_issued", details={"replaced": False})
    if created:
        _announce(code)
    return created


def _setup_code_matches(code: str) -> bool:
    """Whether ``code`` is the current setup code, compared in constant time."""
    stored = SetupCode.objects.filter(pk=1).values_list("code_sha256", flat=True).first()
    expected = stored or "0" * 64
    return hmac.compare_digest(_digest(code), expected) and stored is not None


@sensitive_variables("password", "setup_code")
def first_admin_create(
    *, username: str, email: str, password: str, setup_code: str, ip: str | None = None
) -> User:
    """Create the one administrator of a fresh installation, and only while there is none.

    Two browsers submitting the first-run form at once must not both become administrators, so
    the check and the insert happen under a table lock on PostgreSQL; SQLite serialises writers
    on its own (transactions begin IMMEDIATE, see settings). The password follows the rule of
    every account (``people.password_problem``): refused as a ServiceError on ``password1``.
    ``setup_code`` must be the one the server printed in its log (``setup_code_issue``): a
    stranger who finds the page first cannot claim the installation. It stops working here.
    """
    problems: dict[str, str] = {}
    if not _setup_code_matches(setup_code):
        problems["setup_code"] = WRONG_SETUP_CODE
    if (problem := password_problem(password, username=username, email=email)) is not None:
        problems["password1"] = problem
    if problems:
        raise ServiceError.of(problems)
    user_model = get_user_model()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(user_model._meta.db_table)
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        if user_model.objects.exists():
            raise FirstRunClosedError
        user: User = user_model.objects.create_superuser(
            username=username, email=email, password=password
        )
        # Their address, as allauth keeps it (login by address, password reset, Profile ->
        # Email). Confirmed: whoever holds the setup code runs the server; and allauth would
        # drop an unconfirmed current address at the first change (receivers.address_on_record).
        EmailAddress.objects.create(user=user, email=email.lower(), primary=True, verified=True)
        audit_record(
            actor=Actor.browser(user=user, ip=ip),
            action="user.first_admin_created",
            target=user,
            details={"username": username},
        )
        SetupCode.objects.all().delete()
    return user
