"""What every administrators' setting shares: only administrators change them, and the values
that reach email headers and file names (names, addresses) are printable text on one line."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator

from certificates.services.audit import Actor
from certificates.services.errors import ServiceError

_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")
email_validator = EmailValidator()
# Refused in every value that reaches an email header or a file name (company name, environment
# name, addresses): C0 controls (tab, CR and LF among them), DEL, C1 controls and the Unicode line
# and paragraph separators. A line break in a header splits it: a company name with a newline made
# every email fail in the worker; in a file name, it breaks the downloads and the shell commands
# that handle them.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_CHARACTER_NAMES: Mapping[str, str] = {
    "\n": "a line break",
    "\r": "a line break",
    "\t": "a tab",
    "\u2028": "a line break",
    "\u2029": "a line break",
}


def control_character_problem(value: str, *, label: str) -> str | None:
    """None when ``value`` holds no control character; otherwise which one and what to do."""
    match = CONTROL_CHARACTERS.search(value)
    if match is None:
        return None
    character = match.group()
    name = _CONTROL_CHARACTER_NAMES.get(character, f"the control character U+{ord(character):04X}")
    return (
        f"{label} contains {name}; it goes into email headers and file names, where only "
        "printable characters on one line are allowed. Type it again on one line."
    )


def require_administrator(actor: Actor) -> None:
    """Settings are for superusers; the command line (an actor without a user) may too."""
    if actor.user is not None and not (actor.user.is_active and actor.user.is_superuser):
        raise PermissionDenied("Only certdesk administrators may change settings.")


def parse_email_list(text: str, *, label: str) -> list[str]:
    """Addresses from a textarea: one a line or separated by commas; duplicates dropped.

    Raise ServiceError naming the first address that is not one.
    """
    addresses: list[str] = []
    for item in _ADDRESS_SEPARATORS.split(text or ""):
        if not item:
            continue
        if CONTROL_CHARACTERS.search(item):
            # EmailValidator lets a quoted local part carry most control characters.
            raise ServiceError(
                f"{item!r} is not an email address: it contains a control character. {label}: "
                "one address a line, or separated by commas.",
            )
        try:
            email_validator(item)
        except ValidationError:
            raise ServiceError(
                f"'{item}' is not an email address. {label}: one address a line, or separated "
                "by commas.",
            ) from None
        if item.lower() not in (known.lower() for known in addresses):
            addresses.append(item)
    return addresses
