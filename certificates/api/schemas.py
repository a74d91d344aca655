"""What the API reads and writes, as pydantic schemas: the OpenAPI schema is made from these.

Input text may not hold NUL characters or lone surrogates (no database stores them); ids are
positive 64-bit integers, so that an absurd one is a 422, never a database error.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from ninja import Schema
from pydantic import AfterValidator, Field, model_validator

from certificates.models import ApiToken, Purpose, SigningRequest
from certificates.selectors.status import CertificateStatus

MAX_ID = 2**63 - 1
# A certificate with its chain, as text: the browser's upload limit is 1 MB.
MAX_PEM_CHARACTERS = 1_000_000


def _plain(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise ValueError("must be valid Unicode text")
    return value


Text = Annotated[str, AfterValidator(_plain)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Slug = Annotated[str, Field(pattern=r"^[-a-zA-Z0-9_]+$", max_length=64)]

PurposeName = Literal["mtls", "signature"]
ScopeName = Literal["read", "request", "custody"]
RequestStatusName = Literal["draft", "ready", "sent", "fulfilled", "cancelled"]
StatusName = Literal[
    "not yet valid",
    "valid",
    "renewal due",
    "expired",
    "revocation requested",
    "revoked",
    "superseded",
]
assert set(get_args(PurposeName)) == set(Purpose.values)
assert set(get_args(ScopeName)) == set(ApiToken.Scope.values)
assert set(get_args(RequestStatusName)) == set(SigningRequest.Status.values)
assert set(get_args(StatusName)) == {status.value for status in CertificateStatus}


# --- environments ------------------------------------------------------------------------


class EnvironmentOut(Schema):
    """An environment the token may act in, and what it may do there now: its scopes, within
    its owner's role (never more)."""

    slug: str
    name: str
    scopes: list[ScopeName]
    tam_configured: bool = Field(description="Whether a TAM address is set (sending needs it).")
    treezor_ca_set: bool = Field(description="Whether uploads are checked against a Treezor CA.")


# --- certificates ------------------------------------------------------------------------


class RevocationOut(Schema):
    reason: Literal["key_compromise", "superseded", "cessation_of_operation", "other"]
    suspected_since: date | None
    requested_at: datetime
    tam_notified_at: datetime | None
    confirmed_at: datetime | None


class CertificateOut(Schema):
    id: int
    environment: str = Field(description="The environment's slug.")
    purpose: PurposeName
    request: int = Field(description="The signing request it was issued for.")
    serial: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    status: StatusName
    in_service: bool = Field(
        description="The certificate in service for its environment and purpose (at most one)."
    )
    days_left: int | None = Field(description="Whole days until notAfter; null once expired.")
    uploaded_at: datetime
    replaces: int | None
    replaced_by: int | None
    revocation: RevocationOut | None


class CertificateDetailOut(CertificateOut):
    pem: str = Field(description="The certificate, PEM.")
    chain_pem: str = Field(description="The chain Treezor sent with it, PEM (may be empty).")
    full_chain_pem: str = Field(description="The certificate followed by its chain, PEM.")
    warnings: list[str]


class CertificateList(Schema):
    count: int = Field(description="How many match, over every page.")
    items: list[CertificateOut]


class CertificateUploadIn(Schema):
    certificate: Annotated[Text, Field(min_length=1, max_length=MAX_PEM_CHARACTERS)] = Field(
        description="The certificate Treezor sent, PEM (its chain may follow) or PKCS#7 PEM."
    )
    environment: Slug | None = Field(
        None, description="Expected environment (certdesk finds it by the key otherwise)."
    )
    purpose: PurposeName | None = None
    replace: bool = Field(
        False, description="Yes to replacing a good certificate in service (409 otherwise)."
    )
    trust_issuer: bool = Field(
        False,
        description="Administrators: yes to trusting the issuer as the environment's Treezor CA "
        "when it has none yet (409 otherwise).",
    )


class UploadOut(Schema):
    certificate: CertificateDetailOut
    replaced: int | None
    trusted_issuer: bool


class CompromiseIn(Schema):
    suspected_since: date
    note: Annotated[Text, Field(max_length=2000)] = Field(
        "", description="Goes to the TAM with the revocation request. Never the key."
    )


class RevocationConfirmIn(Schema):
    confirmed_on: date = Field(description="The day Treezor confirmed the revocation.")


class KeyExportIn(Schema):
    format: Literal["pem", "pkcs12"] = "pem"
    passphrase: Annotated[Text, Field(max_length=1024)] | None = Field(
        None, description="PKCS#12 only: protects the bundle; must be hard to guess."
    )


# --- signing requests --------------------------------------------------------------------


class SubjectIn(Schema):
    """The seven fields of Treezor's table (checked as the browser's form checks them)."""

    country: Annotated[Text, Field(max_length=64)]
    state: Annotated[Text, Field(max_length=512)]
    locality: Annotated[Text, Field(max_length=512)]
    organization: Annotated[Text, Field(max_length=256)]
    organizational_unit: Annotated[Text, Field(max_length=256)] = ""
    common_name: Annotated[Text, Field(max_length=256)]
    email: Annotated[Text, Field(max_length=512)]


class SubjectOut(Schema):
    country: str
    state: str
    locality: str
    organization: str
    organizational_unit: str
    common_name: str
    email: str


class RequestOut(Schema):
    id: int
    environment: str = Field(description="The environment's slug.")
    purpose: PurposeName
    status: RequestStatusName
    subject: SubjectOut
    key_source: Literal["generated", "imported"]
    key_fingerprint_sha256: str
    private_key_held: bool = Field(
        description="Whether certdesk holds the private key (generated, not destroyed)."
    )
    renews: int | None = Field(description="The certificate this request renews.")
    certificates: list[int]
    created_at: datetime
    sent_at: datetime | None
    sent_on: date | None = Field(description="The day given when it was sent by hand.")
    cancelled_at: datetime | None
    cancel_reason: str


class RequestDetailOut(RequestOut):
    csr_pem: str


class RequestList(Schema):
    count: int
    items: list[RequestOut]


class RequestCreateIn(Schema):
    """Either ``subject`` (certdesk generates the key and the CSR) or ``csr`` (your own CSR:
    certdesk keeps only its public key)."""

    environment: Slug
    purpose: PurposeName
    subject: SubjectIn | None = None
    csr: Annotated[Text, Field(min_length=1, max_length=100_000)] | None = None
    renews: Id | None = Field(None, description="The certificate this request renews.")

    @model_validator(mode="after")
    def _one_source(self) -> RequestCreateIn:
        if (self.subject is None) == (self.csr is None):
            raise ValueError(
                "give either subject (certdesk generates the key) or csr (your own CSR)"
            )
        return self


class CancelIn(Schema):
    reason: Annotated[Text, Field(max_length=5000)]


class SendIn(Schema):
    requests: Annotated[list[Id], Field(min_length=1, max_length=20)] = Field(
        description="The ready requests whose CSRs go in one email (one per purpose)."
    )
    message: Annotated[Text, Field(max_length=20_000)] = Field(
        "", description="Optional message to the TAM, first in the email. Plain text."
    )


class EmailOut(Schema):
    id: int
    kind: str
    status: Literal["queued", "sending", "sent", "failed", "refused"]
    to: list[str]
    cc: list[str]
    subject: str
    requests: list[int] = Field(description="The requests whose CSRs it carries.")
    created_at: datetime
    replayed: bool = Field(
        description="True when this answers an Idempotency-Key used before: nothing was sent."
    )
