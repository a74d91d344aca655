"""The one test subject (Acme), in each shape the tests need: the crypto value, the form data a
browser posts, the command-line options, and the `openssl req -subj` string."""

from __future__ import annotations

from certificates import crypto

ACME = crypto.Subject(
    country="FR",
    state="Brittany",
    locality="Rennes",
    organization="Acme",
    organizational_unit="IT",
    common_name="acme.com",
    email="it@acme.com",
)


def acme_form(**changes: str) -> dict[str, str]:
    """The seven subject fields as a form posts them (ACME), with ``changes``."""
    return {**ACME.as_dict(), **changes}


def acme_without(*omitted: str) -> dict[str, str]:
    """ACME's form fields without ``omitted`` (a field a test fills per row)."""
    return {name: value for name, value in ACME.as_dict().items() if name not in omitted}


# The same subject as options of the request commands.
SUBJECT_ARGS = [f"--{name.replace('_', '-')}={value}" for name, value in ACME.as_dict().items()]
# The seed's own `openssl req -subj` for the same subject, without OU.
ACME_SUBJ = "/C=FR/ST=Brittany/L=Rennes/O=Acme/CN=acme.com/emailAddress=it@acme.com"
