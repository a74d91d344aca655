"""Bulk data: certificates with their key and signing request, straight into the tables.

The cryptography is irrelevant to what is measured with these rows (the scan, the dashboard,
the list read dates, statuses and reminders), so fingerprints and PEM text are fake; the rows
are otherwise what ``certificate_upload`` stores, lifecycle included: at most one certificate
in service per (environment, purpose) (``superseded_at`` empty; a partial unique constraint),
each earlier one superseded by its successor (``superseded_at`` set, the successor's
``replaces`` pointing at it), ``environment`` and ``purpose`` copied from the request.

Two shapes, for two kinds of measurement:

- ``certificates``: many certificates in service, so as many (environment, purpose) pairs,
  in new environments "Bench 00001", ... (two pairs each), every one with ``history``
  superseded predecessors as dead weight. What the expiry scan is measured on.
- ``certificates_over``: a few environments with a long history each, the latest certificate
  of each pair in service. What the dashboard (one row per environment) and the certificate
  list (every certificate, superseded ones included) are measured on.

``bulk_create`` in batches of about ``BATCH`` rows per table keeps the largest seeding (the
steady scan's 100,000 certificates in service and 100,000 superseded) to about a minute.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction

from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Key,
    OutboundEmail,
    Purpose,
    Reminder,
    Revocation,
    SigningRequest,
)

BATCH = 5_000
YEAR = timedelta(days=365)
# A predecessor expired this long after its successor was issued: renewed a month ahead.
RENEWED_AHEAD = timedelta(days=30)
# ... and was superseded when its successor was installed, a day after being issued.
INSTALLED_AFTER = timedelta(days=1)
TAM = "tam@treezor.example"
TEAM = "team@acme.example"
BENCH_SLUG = "bench-"
# Unique fingerprints across the whole run, whatever was truncated in between.
_serial = itertools.count(1)

Pair = tuple[Environment, str]


def _addressed(environment: Environment) -> Environment:
    """Each environment has a TAM and a team address, so the scan has someone to email."""
    environment.tam_emails = [TAM]
    environment.team_emails = [TEAM]
    environment.signature_required = True
    return environment


def environments(count: int) -> list[Environment]:
    """``count`` new environments, "Bench 00001" onwards, each with a TAM and a team address
    and both sets (mTLS and signature) required, in bulk."""
    first = Environment.objects.filter(slug__startswith=BENCH_SLUG).count() + 1
    made: list[Environment] = []
    for start in range(first, first + count, BATCH):
        numbers = range(start, min(start + BATCH, first + count))
        made += Environment.objects.bulk_create(
            _addressed(Environment(name=f"Bench {n:05d}", slug=f"{BENCH_SLUG}{n:05d}"))
            for n in numbers
        )
    return made


def first_environments(count: int) -> list[Environment]:
    """Sandbox and Production (the first migration's), then new bench environments up to
    ``count``: a realistic dashboard, one row per environment."""
    existing = list(Environment.objects.filter(slug__in=["sandbox", "production"]))[:count]
    for environment in existing:
        _addressed(environment).save()
    return existing + environments(count - len(existing))


def pairs_of(chosen: Sequence[Environment]) -> list[Pair]:
    return [(environment, purpose) for environment in chosen for purpose in Purpose.values]


@dataclass
class _Chain:
    """The certificates of one (environment, purpose), oldest first; the last is in service."""

    environment: Environment
    purpose: str
    not_afters: list[datetime]
    made: list[Certificate] = field(default_factory=list)


def certificates(
    count: int,
    *,
    not_after: Callable[[int], datetime],
    reminded: Sequence[str] = (),
    history: int = 1,
) -> None:
    """``count`` certificates in service, each in a (environment, purpose) pair of its own,
    over ``ceil(count / 2)`` new environments, each with ``history`` superseded predecessors.

    ``not_after(j)`` dates the j-th certificate in service; each is valid for a year. Its
    predecessor expired ``RENEWED_AHEAD`` after it was issued, and so on back. ``reminded``
    lists the reminder kinds already recorded ``sent`` at the 30-day threshold (the scan's
    steady state), for every certificate, superseded ones included (they were reminded too).
    """
    made = environments(-(-count // len(Purpose.values)))
    chains = []
    for j, (environment, purpose) in enumerate(pairs_of(made)[:count]):
        dates = [not_after(j)]
        for _ in range(history):
            dates.insert(0, dates[0] - YEAR + RENEWED_AHEAD)
        chains.append(_Chain(environment, purpose, dates))
    _insert(chains, reminded=reminded)


def certificates_over(
    pairs: Sequence[Pair], count: int, *, not_after: Callable[[int], datetime]
) -> None:
    """``count`` certificates over ``pairs`` (fresh ones), in contiguous runs: the pair ``p``
    gets the dates ``not_after(j)`` of its run, oldest first, and its last is in service.

    With dates that grow with ``j``, each pair's certificate in service has its own status
    (from long expired for the first pair to valid for the last), as a single certificate
    per pair would; the rest are that pair's superseded history.
    """
    chains = []
    start = 0
    for index, (environment, purpose) in enumerate(pairs):
        end = (index + 1) * count // len(pairs)
        if end > start:
            chains.append(_Chain(environment, purpose, [not_after(j) for j in range(start, end)]))
        start = end
    _insert(chains, reminded=())


def _insert(chains: list[_Chain], *, reminded: Sequence[str]) -> None:
    """Insert the chains, about ``BATCH`` certificates at a time, one generation after the
    other within a batch (a certificate's ``replaces`` needs its predecessor's id)."""
    batch: list[_Chain] = []
    size = 0
    for chain in chains:
        if batch and size + len(chain.not_afters) > BATCH:
            _insert_batch(batch, reminded=reminded)
            batch, size = [], 0
        batch.append(chain)
        size += len(chain.not_afters)
    if batch:
        _insert_batch(batch, reminded=reminded)


def _insert_batch(chains: list[_Chain], *, reminded: Sequence[str]) -> None:
    slots = [(chain, g) for chain in chains for g in range(len(chain.not_afters))]
    numbers = [next(_serial) for _ in slots]
    with transaction.atomic():
        keys = Key.objects.bulk_create(
            Key(fingerprint=f"{n:064x}", source=Key.Source.IMPORTED) for n in numbers
        )
        requests = SigningRequest.objects.bulk_create(
            SigningRequest(
                environment=chain.environment,
                purpose=chain.purpose,
                key=key,
                country="FR",
                state="Brittany",
                locality="Rennes",
                organization="Acme",
                common_name=f"host{n}.acme.com",
                email="it@acme.com",
                csr_pem="x",
                status=SigningRequest.Status.FULFILLED,
            )
            for (chain, _g), n, key in zip(slots, numbers, keys, strict=True)
        )
        rows = {
            (id(chain), g): (n, request)
            for (chain, g), n, request in zip(slots, numbers, requests, strict=True)
        }
        made: list[Certificate] = []
        for generation in range(max(len(chain.not_afters) for chain in chains)):
            current = [chain for chain in chains if generation < len(chain.not_afters)]
            created = Certificate.objects.bulk_create(
                _certificate(chain, generation, *rows[id(chain), generation]) for chain in current
            )
            for chain, certificate in zip(current, created, strict=True):
                chain.made.append(certificate)
            made += created
        Reminder.objects.bulk_create(
            Reminder(certificate=c, kind=kind, threshold_days=30, status=Reminder.Status.SENT)
            for c in made
            for kind in reminded
        )


def _certificate(chain: _Chain, generation: int, n: int, request: SigningRequest) -> Certificate:
    not_after = chain.not_afters[generation]
    successor = generation + 1
    superseded_at = (
        chain.not_afters[successor] - YEAR + INSTALLED_AFTER
        if successor < len(chain.not_afters)
        else None
    )
    return Certificate(
        signing_request=request,
        environment=chain.environment,
        purpose=chain.purpose,
        pem="x",
        serial=f"{n:X}",
        subject=f"CN=host{n}.acme.com,O=Acme,C=FR",
        issuer="CN=Treezor Test Root CA",
        not_before=not_after - YEAR,
        not_after=not_after,
        fingerprint=f"{n:064x}",
        replaces=chain.made[-1] if generation else None,
        superseded_at=superseded_at,
    )


def analyze() -> None:
    """What autovacuum does soon after a bulk load or update: without statistics PostgreSQL
    takes the fresh tables for empty and plans nested loops that cost minutes (tests/reminders
    say so), and until dead row versions are vacuumed every scan wades through them (measured
    here: a scan right after updating 99,000 rows took 2.9 s, 0.4 s once vacuumed)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def truncate() -> None:
    """Empty every table of certificates and what hangs off them, between measurements, and
    drop the bench's environments (Sandbox and Production stay)."""
    models = [Reminder, OutboundEmail, Revocation, Certificate, SigningRequest, Key, AuditEvent]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        # CASCADE: a table another engineer adds that points at these is emptied too.
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        # Plain SQL: nothing points at the bench's environments once those tables are empty,
        # and Django's cascade collector would walk 50,000 of them first.
        table = connection.ops.quote_name(Environment._meta.db_table)
        # S608: the table name is the model's, the pattern a parameter.
        cursor.execute(f"DELETE FROM {table} WHERE slug LIKE %s", [BENCH_SLUG + "%"])  # noqa: S608


def spread(count: int, *, now: datetime) -> Callable[[int], datetime]:
    """Distinct expiry dates from ten months ago to ten months ahead, growing with ``j``: a
    history of renewals, with expired, renewal-due and valid certificates in service."""
    step = timedelta(days=600) / count

    def date(j: int) -> datetime:
        return now - timedelta(days=300) + j * step

    return date


def at(moment: datetime) -> Callable[[int], datetime]:
    """One expiry date for every certificate in service."""
    return lambda _j: moment
