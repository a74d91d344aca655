"""Private-key downloads: the only way a key leaves certdesk (rule 3), always recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.db.models import F
from django.views.decorators.debug import sensitive_variables

from certificates import crypto, vault
from certificates.models import Certificate, CompanyProfile, SigningRequest
from certificates.permissions import Action, require
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

KeyFormat = Literal["pem", "pkcs12"]


@dataclass(frozen=True)
class KeyExport:
    filename: str
    content: bytes
    content_type: str

    def __repr__(self) -> str:  # never print the key, even in a debugger or a traceback
        return f"KeyExport(filename={self.filename!r}, content=<{len(self.content)} bytes>)"


def company_name() -> str:
    profile = CompanyProfile.objects.filter(pk=1).first()
    return profile.company_name if profile is not None else "company"


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
    if actor.user is not None:
        require(actor.user, Action.CUSTODY, environment)
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
        if not passphrase or len(passphrase.encode("utf-8")) < crypto.MIN_PASSPHRASE_BYTES:
            raise ServiceError(
                f"Choose a passphrase of at least {crypto.MIN_PASSPHRASE_BYTES} characters to "
                "protect the PKCS#12 bundle.",
                field="passphrase",
            )
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
