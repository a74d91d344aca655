"""Bulk data: certificates with their key and signing request, straight into the tables.

The cryptography is irrelevant to what is measured with these rows (the scan, the dashboard,
the list read dates, statuses and reminders), so fingerprints and PEM text are fake; the rows
are otherwise what ``certificate_upload`` stores. ``bulk_create`` in batches keeps 100,000
certificates (300,000 rows, plus 200,000 reminders) well under a minute.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
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
TAM = "tam@treezor.example"
TEAM = "team@acme.example"
# Unique fingerprints across the whole run, whatever was truncated in between.
_serial = itertools.count(1)


def pairs() -> list[tuple[Environment, str]]:
    """Every (environment, purpose) of the first migration: Sandbox and Production, both sets.

    Each has a TAM and a team address, so the scan has someone to email.
    """
    environments = list(Environment.objects.filter(slug__in=["sandbox", "production"]))
    for environment in environments:
        environment.tam_emails = [TAM]
        environment.team_emails = [TEAM]
        environment.signature_required = True
        environment.save()
    return [(e, purpose) for e in environments for purpose in Purpose.values]


def certificates(
    count: int, *, not_after: Callable[[int], datetime], reminded: Sequence[str] = ()
) -> None:
    """``count`` certificates spread in turn over the four (environment, purpose) pairs.

    ``not_after(j)`` dates the j-th; each is valid for a year. ``reminded`` lists the reminder
    kinds already recorded ``sent`` at the 30-day threshold (the scan's steady state).
    """
    targets = pairs()
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        numbers = [next(_serial) for _ in range(size)]
        with transaction.atomic():
            keys = Key.objects.bulk_create(
                Key(fingerprint=f"{n:064x}", source=Key.Source.IMPORTED) for n in numbers
            )
            requests = SigningRequest.objects.bulk_create(
                SigningRequest(
                    environment=targets[(offset + j) % len(targets)][0],
                    purpose=targets[(offset + j) % len(targets)][1],
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
                for j, (n, key) in enumerate(zip(numbers, keys, strict=True))
            )
            made = Certificate.objects.bulk_create(
                Certificate(
                    signing_request=request,
                    pem="x",
                    serial=f"{n:X}",
                    subject=f"CN=host{n}.acme.com,O=Acme,C=FR",
                    issuer="CN=Treezor Test Root CA",
                    not_before=not_after(offset + j) - YEAR,
                    not_after=not_after(offset + j),
                    fingerprint=f"{n:064x}",
                )
                for j, (n, request) in enumerate(zip(numbers, requests, strict=True))
            )
            Reminder.objects.bulk_create(
                Reminder(certificate=c, kind=kind, threshold_days=30, status=Reminder.Status.SENT)
                for c in made
                for kind in reminded
            )


def analyze() -> None:
    """What autovacuum does soon after a bulk load or update: without statistics PostgreSQL
    takes the fresh tables for empty and plans nested loops that cost minutes (tests/reminders
    say so), and until dead row versions are vacuumed every scan wades through them (measured
    here: a scan right after updating 99,000 rows took 2.9 s, 0.4 s once vacuumed)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def truncate() -> None:
    """Empty every table of certificates and what hangs off them, between measurements."""
    models = [Reminder, OutboundEmail, Revocation, Certificate, SigningRequest, Key, AuditEvent]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        # CASCADE: a table another engineer adds that points at these is emptied too.
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def spread(count: int, *, now: datetime) -> Callable[[int], datetime]:
    """Distinct expiry dates from ten months ago to ten months ahead: a history of renewals,
    with expired, superseded, renewal-due and valid certificates, as the list shows them."""
    step = timedelta(days=600) / count

    def date(j: int) -> datetime:
        return now - timedelta(days=300) + j * step

    return date


def at(moment: datetime) -> Callable[[int], datetime]:
    """One expiry date for all: no certificate supersedes another (that needs a later one)."""
    return lambda _j: moment
