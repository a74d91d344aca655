"""Which earlier emails to the TAM a new one answers (issue 16: emails that thread).

A resend of a CSR, the renewal request of a certificate, its revocation request or a compromise
report are about a request or a certificate the TAM has heard of already: the new email carries
``In-Reply-To`` (the first email's Message-ID) and ``References`` (the chain, oldest first), so
that the TAM's mail client shows one conversation.

What counts as "about the same thing": the requests and certificates given; the certificate a
request renews; the request each of those certificates was issued for. The earlier emails are
found by the outbox rows' own links (``OutboundEmail.signing_request`` and ``.certificate``) and
by the audit events that queued them (``details["email"]``), which also covers the emails stored
before those links existed and a CSR email that carried two requests. Only emails to the TAM
count (never the owners' reminders), and not those the outgoing guard refused: the TAM never
received them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from django.db.models import Q

from certificates.models import AuditEvent, Certificate, OutboundEmail, SigningRequest
from certificates.outbox_policy import TAM_KINDS

# The audit actions that queue an email about their target, with the outbox id in details.
_QUEUEING_ACTIONS = (
    "request.sent_to_tam",
    "request.resent_to_tam",
    "certificate.revocation_requested",
    "reminder.queued",
)
# A long conversation keeps its first email and the latest ones (RFC 5322 3.6.4 lets a
# References field be shortened; mail clients thread on the first and the last).
REFERENCES_KEPT = 10

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Thread:
    """An email's place in its conversation: empty for the first email about something."""

    references: list[str] = field(default_factory=list)

    @property
    def in_reply_to(self) -> str:
        return self.references[0] if self.references else ""


@dataclass
class About:
    """What a new email is about: requests and certificates (ids)."""

    requests: set[int] = field(default_factory=set)
    certificates: set[int] = field(default_factory=set)


def about(
    *,
    signing_requests: Iterable[SigningRequest] = (),
    certificates: Iterable[Certificate] = (),
) -> About:
    """The requests and certificates given, with the certificate each request renews and the
    request each certificate was issued for (no query: the ids are on the rows)."""
    found = About()
    for request in signing_requests:
        found.requests.add(request.pk)
        if request.renews_id is not None:
            found.certificates.add(request.renews_id)
    for certificate in certificates:
        found.certificates.add(certificate.pk)
        found.requests.add(certificate.signing_request_id)
    return found


def tam_threads(subjects: Mapping[K, About]) -> dict[K, Thread]:
    """Each new email's thread (by the caller's key), oldest email first, in at most three
    queries whatever the number of emails (the expiry scan asks for a whole batch)."""
    if not subjects:
        return {}
    requests = set().union(*(s.requests for s in subjects.values()))
    certificates = set().union(*(s.certificates for s in subjects.values()))
    # The requests of the certificates a request renews (their ids are not on the rows given).
    issued_for = dict(
        Certificate.objects.filter(pk__in=certificates).values_list("pk", "signing_request_id")
    )
    expanded = {
        key: About(
            requests=subject.requests
            | {issued_for[c] for c in subject.certificates if c in issued_for},
            certificates=set(subject.certificates),
        )
        for key, subject in subjects.items()
    }
    requests |= set(issued_for.values())
    queued_about: dict[int, set[tuple[str, int]]] = {}
    targets = Q(
        target_type=SigningRequest._meta.model_name or "",
        target_id__in=[str(pk) for pk in requests],
    ) | Q(
        target_type=Certificate._meta.model_name or "",
        target_id__in=[str(pk) for pk in certificates],
    )
    for target_type, target_id, details in AuditEvent.objects.filter(
        targets, action__in=_QUEUEING_ACTIONS
    ).values_list("target_type", "target_id", "details"):
        if isinstance(details, dict) and isinstance(details.get("email"), int):
            queued_about.setdefault(details["email"], set()).add((target_type, int(target_id)))
    rows = list(
        OutboundEmail.objects.filter(
            Q(signing_request_id__in=requests)
            | Q(certificate_id__in=certificates)
            | Q(pk__in=list(queued_about)),
            kind__in=TAM_KINDS,
        )
        .exclude(status=OutboundEmail.Status.REFUSED)
        .order_by("created_at", "pk")
        .values_list("pk", "message_id", "signing_request_id", "certificate_id")
    )
    request_type = SigningRequest._meta.model_name or ""
    threads: dict[K, Thread] = {}
    for key, subject in expanded.items():
        chain = []
        for pk, message_id, request_id, certificate_id in rows:
            links = queued_about.get(pk, set())
            if (
                request_id in subject.requests
                or certificate_id in subject.certificates
                or any(
                    target_id
                    in (subject.requests if kind == request_type else subject.certificates)
                    for kind, target_id in links
                )
            ):
                chain.append(message_id)
        if len(chain) > REFERENCES_KEPT:
            chain = [chain[0], *chain[-(REFERENCES_KEPT - 1) :]]
        threads[key] = Thread(references=chain)
    return threads


def tam_thread(
    *,
    signing_requests: Iterable[SigningRequest] = (),
    certificates: Iterable[Certificate] = (),
) -> Thread:
    """The thread of one new email about these requests and certificates."""
    subject = about(signing_requests=signing_requests, certificates=certificates)
    return tam_threads({0: subject})[0]
