"""Errors raised by the cryptography core.

Every message is meant to be shown to the user as is: it says what was wrong and what to do next.
No message ever quotes the bytes that were uploaded (they may be a private key, see rule 3 of
DESIGN.md), and ``code`` gives callers and tests something stable to branch on.
"""

from __future__ import annotations

from collections.abc import Mapping

# Treezor's mTLS page, "3. Ask Treezor to generate your certificates".
TREEZOR_KEY_WARNING = (
    '"If you were to send us your private key, you would have to generate new ones" (Treezor).'
)


class CryptoError(ValueError):
    """Input that certdesk cannot use; ``str(error)`` is the user-facing explanation."""

    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message


class PrivateKeyMaterialError(CryptoError):
    """A private key (or a container that may hold one) was given where it must never go."""

    default_code = "private_key_material"

    def __init__(self, found: str = "private-key material") -> None:
        self.found = found
        super().__init__(
            f"This contains {found}. Private keys are never uploaded to certdesk: only "
            "certificate signing requests (CSRs) and certificates are, and this file was "
            "refused. If this key was ever sent to anyone, by email to Treezor included, "
            "consider it compromised: create a new key and a new CSR, and ask Treezor to revoke "
            "any certificate issued for the old key. " + TREEZOR_KEY_WARNING
        )


# Labels of Treezor's CSR table, used to prefix field messages.
FIELD_LABELS: Mapping[str, str] = {
    "country": "Country",
    "state": "State / Province",
    "locality": "Locality",
    "organization": "Organization Name",
    "organizational_unit": "Organizational Unit",
    "common_name": "Common Name",
    "email": "Email",
}


class SubjectError(CryptoError):
    """One or more CSR subject fields are invalid; ``errors`` maps field name to message."""

    default_code = "subject"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        count = len(self.errors)
        noun = "field needs" if count == 1 else "fields need"
        details = " ".join(self.errors.values())
        super().__init__(f"{count} subject {noun} correcting. {details}")
