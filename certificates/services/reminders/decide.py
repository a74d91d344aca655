"""One decision for every reminder, asked by the scan and its dry run alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from certificates import crypto
from certificates.models import Certificate, Reminder, SigningRequest
from certificates.selectors.reminders import prepares_renewals, tightest_due_threshold
from certificates.selectors.requests import subject_of
from certificates.selectors.status import days_left
from certificates.services.reminders.wording import NO_LONGER_DUE, no_owner_reason, no_tam_reason

# Renewal requests still on their way; a fulfilled one means Treezor answered already.
IN_FLIGHT = (SigningRequest.Status.DRAFT, SigningRequest.Status.READY, SigningRequest.Status.SENT)


def first_with_csr(requests: Iterable[SigningRequest], status: str) -> SigningRequest | None:
    """The newest of ``requests`` (newest first) with ``status`` and a CSR."""
    return next((r for r in requests if r.status == status and r.csr_pem), None)


@dataclass(frozen=True)
class Decision:
    """What becomes of one reminder: skipped (``reason``), or sent to ``to``; for the TAM's
    email, with which renewal CSR (``attach``), or saying which one went before
    (``already_sent``), or with the CSR of a renewal request to prepare now (``prepare``)."""

    sends: bool
    reason: str = ""
    to: tuple[str, ...] = ()
    attach: SigningRequest | None = None
    already_sent: SigningRequest | None = None
    prepare: crypto.Subject | None = None
    # Why no renewal request is prepared although the environment asks for it (owners read it).
    not_prepared: str = ""


def _skipped(reason: str) -> Decision:
    return Decision(sends=False, reason=reason)


def reminder_decide(
    *,
    kind: str,
    threshold_days: int,
    certificate: Certificate | None,
    now: datetime,
    recipients: Mapping[int, list[str]],
    renewals: Sequence[SigningRequest] = (),
) -> Decision:
    """The one answer, for the scan and its dry run alike, to "what happens to this reminder".

    ``certificate`` is None when it is no longer a candidate (renewed, superseded, revoked,
    long expired). ``recipients``: the owners of each environment
    (:func:`~certificates.selectors.reminders.owner_recipients_for`). ``renewals``: the
    certificate's renewal requests, newest first, cancelled ones left out; only the TAM's
    email reads them.
    """
    if certificate is None:
        return _skipped(NO_LONGER_DUE)
    environment = certificate.signing_request.environment
    if kind == Reminder.Kind.TAM_RENEWAL:
        if not environment.tam_emails:
            return _skipped(no_tam_reason(environment))
        to = tuple(environment.tam_emails)
        if (ready := first_with_csr(renewals, SigningRequest.Status.READY)) is not None:
            return Decision(sends=True, to=to, attach=ready)
        if (sent := first_with_csr(renewals, SigningRequest.Status.SENT)) is not None:
            return Decision(sends=True, to=to, already_sent=sent)
        if renewals or not prepares_renewals(certificate):
            # One started (a draft, or answered already) or the owners make it: no second one.
            return Decision(sends=True, to=to)
        try:
            subject = crypto.validate_subject(**asdict(subject_of(certificate.signing_request)))
        except crypto.SubjectError as error:
            problems = "; ".join(error.errors.values())
            return Decision(
                sends=True,
                to=to,
                not_prepared=f"the subject of request #{certificate.signing_request_id} no "
                f"longer follows Treezor's table ({problems}); prepare the renewal in the "
                "wizard with the fields corrected.",
            )
        return Decision(sends=True, to=to, prepare=subject)
    tightest = tightest_due_threshold(days_left(certificate.not_after, now))
    if tightest is not None and threshold_days > tightest:
        return _skipped(f"superseded by the {tightest}-day reminder")
    to_owners = recipients.get(environment.pk, [])
    if not to_owners:
        return _skipped(no_owner_reason(environment))
    return Decision(sends=True, to=tuple(to_owners))


def claim_order(reminder: Reminder) -> tuple[int, bool, int]:
    """The order the scan (and its dry run) decides rows in: by certificate, the TAM's email
    first (the owners' reminder then says what it did: CSR sent, or not), tightest last."""
    return (
        reminder.certificate_id,
        reminder.kind != Reminder.Kind.TAM_RENEWAL,
        -reminder.threshold_days,
    )


def may_prepare(certificate: Certificate | None, renewals: Sequence[SigningRequest]) -> bool:
    """Whether the TAM's email of ``certificate`` will likely prepare a renewal request (a new
    key): the scan claims such a row in a transaction of its own (see ``claim``)."""
    return certificate is not None and not renewals and prepares_renewals(certificate)
