"""Private-key downloads: the only way a key leaves certdesk (rule 3), always recorded."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from zxcvbn import zxcvbn

from certificates import crypto, vault
from certificates.dbfiles import erase_freed_pages
from certificates.models import Certificate, Key, SigningRequest
from certificates.permissions import Action
from certificates.selectors.company import company_name as company_name
from certificates.selectors.keys import key_destroyable
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

KeyFormat = Literal["pem", "pkcs12"]

# zxcvbn's top score: "very unguessable, strong protection from an offline slow-hash scenario"
# (about 10^10 guesses or more), which is what a stolen .p12 faces: it can be attacked offline
# for as long as the thief likes. Score 3 stops at "moderate" protection in that scenario.
MIN_PASSPHRASE_SCORE = 4
# zxcvbn refuses longer input (its matching is quadratic); a prefix is a lower bound.
_ESTIMATED_CHARACTERS = 72
# Lowercase letters and digits that cannot be misread (no 0/o, 1/l/i): 31 symbols.
_GENERATED_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_GENERATED_GROUPS = 6
_GENERATED_GROUP_LENGTH = 4


@dataclass(frozen=True)
class KeyExport:
    filename: str
    content: bytes
    content_type: str

    def __repr__(self) -> str:  # never print the key, even in a debugger or a traceback
        return f"KeyExport(filename={self.filename!r}, content=<{len(self.content)} bytes>)"


def generated_passphrase() -> str:
    """A random passphrase for a PKCS#12 bundle: six groups of four, about 119 bits.

    The download form offers it once (prefilled, to keep or replace); certdesk keeps no copy.
    """
    return "-".join(
        "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(_GENERATED_GROUP_LENGTH))
        for _ in range(_GENERATED_GROUPS)
    )


@sensitive_variables("passphrase", "estimate")
def passphrase_problem(passphrase: str, *, related: tuple[str, ...] = ()) -> str | None:
    """Why ``passphrase`` is too weak to protect a PKCS#12 bundle, or None when it is not.

    The estimate is zxcvbn's (dictionaries, repeats, sequences, dates, keyboard patterns);
    ``related`` are words an attacker would try first (company, environment, user name).
    """
    if len(passphrase.encode("utf-8")) < crypto.MIN_PASSPHRASE_BYTES:
        return (
            f"Choose a passphrase of at least {crypto.MIN_PASSPHRASE_BYTES} characters to "
            "protect the PKCS#12 bundle."
        )
    estimate = zxcvbn(
        passphrase[:_ESTIMATED_CHARACTERS],
        user_inputs=[word for word in related if word],
        max_length=_ESTIMATED_CHARACTERS,
    )
    if estimate["score"] >= MIN_PASSPHRASE_SCORE:
        return None
    feedback = estimate["feedback"]
    why = feedback["warning"] or "It is short or made of common words and patterns."
    advice = " ".join(feedback["suggestions"])
    return (
        f"This passphrase is too easy to guess (about 10^{int(estimate['guesses_log10'])} "
        f"guesses): {why.rstrip('.')}. Anyone who gets the .p12 file can try guesses offline. "
        + (f"{advice} " if advice else "")
        + "Use the generated passphrase, or four or more unrelated words."
    )


@sensitive_variables("pem", "private_key", "passphrase", "content")
def key_export(
    *,
    actor: Actor,
    signing_request: SigningRequest,
    key_format: KeyFormat = "pem",
    passphrase: str | None = None,
    certificate: Certificate | None = None,
) -> KeyExport:
    """Decrypt a request's private key for a custodian, as PKCS#1 PEM or a PKCS#12 bundle.

    A PKCS#12 bundle holds ``certificate`` (from its own page), else the request's certificate
    in service, else the one installed last: always a certificate of this very request, whose
    public key is the key's.
    """
    environment = signing_request.environment
    actor.require(Action.CUSTODY, environment)
    key = signing_request.key
    if key.destroyed_at is not None:
        raise ServiceError(
            f"The private key of request #{signing_request.pk} was destroyed on "
            f"{key.destroyed_at:%Y-%m-%d}; it cannot be downloaded."
        )
    if key.encrypted_private_key is None:
        raise ServiceError(
            f"Request #{signing_request.pk} was made from your own CSR: certdesk never had its "
            "private key. Use the key you generated with it."
        )
    if key.compromised_at is not None:
        raise ServiceError(
            f"The key of request #{signing_request.pk} was reported compromised on "
            f"{key.compromised_at:%Y-%m-%d}; it must not be installed again."
        )
    pem = vault.decrypt(key.encrypted_private_key, bound_to=key.fingerprint)
    company = company_name()
    purpose = signing_request.purpose
    if key_format == "pem":
        content = pem
        filename = crypto.treezor_filename(company, "privatekey", purpose)
        content_type = "application/x-pem-file"
    elif key_format == "pkcs12":
        if certificate is not None and certificate.signing_request_id != signing_request.pk:
            raise ServiceError(
                f"Certificate #{certificate.pk} was not issued for request #{signing_request.pk}."
            )
        certificate = certificate or (
            signing_request.certificates.order_by(
                F("superseded_at").desc(nulls_first=True), "-uploaded_at", "-pk"
            ).first()
        )
        if certificate is None:
            raise ServiceError(
                "A PKCS#12 bundle holds the key with its certificate; upload the certificate "
                "Treezor signed first."
            )
        passphrase = passphrase or ""
        weakness = passphrase_problem(
            passphrase,
            related=(
                company,
                environment.slug,
                environment.name,
                purpose,
                actor.user.get_username() if actor.user is not None else "",
            ),
        )
        if weakness is not None:
            raise ServiceError(weakness, field="passphrase")
        private_key = crypto.load_private_key(pem)
        leaf = crypto.parse_certificates(certificate.pem.encode("ascii"))[0]
        chain = (
            crypto.parse_certificates(certificate.chain_pem.encode("ascii"))
            if certificate.chain_pem.strip()
            else []
        )
        content = crypto.export_pkcs12(
            private_key,
            leaf,
            chain,
            passphrase=passphrase.encode("utf-8"),
            friendly_name=f"{company} {environment.slug} {purpose}",
        )
        filename = crypto.treezor_filename(company, "p12", purpose)
        content_type = "application/x-pkcs12"
    else:
        raise ServiceError("The key format must be pem or pkcs12.", field="key_format")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="key.exported",
            target=signing_request,
            environment=environment,
            details={
                "format": key_format,
                "key_fingerprint": key.fingerprint,
                "certificate": certificate.pk if key_format == "pkcs12" and certificate else None,
            },
        )
    return KeyExport(filename=filename, content=content, content_type=content_type)


def key_destroy(*, actor: Actor, key: Key) -> Key:
    """Erase the encrypted private half of a compromised or revoked key; the row stays, so
    rule 2 still refuses the key if it ever comes back in a CSR."""
    request = key.signing_request
    environment = request.environment
    actor.require(Action.CUSTODY, environment)
    if not key.has_private_key:
        raise ServiceError("certdesk holds no private key material for this key.")
    if not key_destroyable(key):
        raise ServiceError(
            "Only the key of a compromised or revoked certificate can be destroyed here; a key "
            "in use would leave its certificate without a key."
        )
    with transaction.atomic():
        Key.objects.filter(pk=key.pk).update(
            encrypted_private_key=None, destroyed_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="key.destroyed",
            target=key,
            environment=environment,
            details={"key_fingerprint": key.fingerprint},
        )
        # Unrecoverable on this host: SQLite's zeroed pages folded into the file, its log cut.
        transaction.on_commit(erase_freed_pages)
    key.refresh_from_db()
    return key
