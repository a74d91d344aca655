"""What /metrics reports, read in a fixed number of queries whatever the number of certificates.

One :func:`metrics_snapshot` answers every figure of the Prometheus collector
(``certificates/metrics/collector.py``): the certificates that are not history, the renewal state
of each environment and purpose, the outbox by kind and state, failed logins, and, from the cache,
the last successful expiry scan and the last worker heartbeat. Eight queries and one cache read,
at 10 certificates as at 100,000 (``tests/metrics/test_queries.py``; ``make bench`` times it).

**History** is what /metrics leaves out, so that its series stay bounded by the environments
(at most two certificates per environment and purpose, whatever the years of renewals):

- the certificate in service for each (environment, purpose)
  (:func:`certificates.selectors.status.certificates_in_service`, whatever its status: an expired
  or revoked certificate still in service is exactly what an alert must see) is reported, with
  ``in_service`` 1;
- the certificate it replaced is reported too, with ``in_service`` 0, while it is still within its
  dates and no revocation was asked for (status ``superseded`` and not expired): during a
  rollover the servers may still present it;
- every other certificate is history: superseded by a later one, or superseded and expired, or
  superseded with a revocation requested or confirmed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import NamedTuple

from axes.models import AccessAttempt  # type: ignore[import-untyped]
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, FloatField, Func, Q, Sum
from django.utils import timezone

from certificates.lockout import locked_accounts, locked_addresses
from certificates.models import Certificate, Environment, OutboundEmail, Purpose, SigningRequest
from certificates.outbox_policy import MAX_ATTEMPTS
from certificates.selectors.health import (
    EXPIRY_SCAN_CACHE_KEY,
    EXPIRY_SCAN_RUN_CACHE_KEY,
    HEARTBEAT_CACHE_KEY,
)
from certificates.selectors.status import certificates_in_service

logger = logging.getLogger(__name__)

# The renewal state of an (environment, purpose): its most advanced open request.
RENEWAL_NONE = "none"
RENEWAL_CSR_READY = "csr_ready"
RENEWAL_SENT = "sent"
RENEWAL_STATES = (RENEWAL_NONE, RENEWAL_CSR_READY, RENEWAL_SENT)

# Plain strings: an enum member's .value costs a descriptor call, 10,000 times per scrape.
SENT_STATUS = str(SigningRequest.Status.SENT.value)
MTLS = str(Purpose.MTLS.value)
SIGNATURE = str(Purpose.SIGNATURE.value)

# The outbox in the one word the pages use (selectors/email_states.py): a ``failed`` row with
# attempts left is ``retrying``; ``failed`` is given up for good.
OUTBOX_STATES = ("queued", "sending", "sent", "retrying", "failed", "refused")


class CertificateFigures(NamedTuple):
    """One certificate reported (a tuple: 10,000 are made at each scrape of a large company)."""

    environment: str
    purpose: str
    common_name: str
    serial: str
    # Unix seconds, as the metric reports it (PostgreSQL computes it: see _certificates).
    not_after: float
    in_service: bool


class RenewalFigures(NamedTuple):
    environment: str
    purpose: str
    state: str
    # When the request still waiting for the TAM was sent (the longest wait), for ``sent``.
    sent_at: datetime | None


@dataclass(frozen=True)
class ScanFigures:
    # Finished with no error (None: none since the cache was last emptied).
    last_success: datetime | None
    # Finished, with or without errors, and how many reminders it could not process.
    last_run: datetime | None
    last_run_errors: int


@dataclass(frozen=True)
class MetricsSnapshot:
    certificates: list[CertificateFigures]
    renewals: list[RenewalFigures]
    # (kind, state) -> count, every kind and state present (0 when none).
    outbox: dict[tuple[str, str], int]
    login_failures: int
    locked_accounts: int
    locked_addresses: int
    scan: ScanFigures
    heartbeat: datetime | None
    renewal_lead_seconds: float
    scan_interval_seconds: float
    heartbeat_interval_seconds: float


class _EpochSeconds(Func):
    """A timestamp as Unix seconds, computed by PostgreSQL: reading 10,000 timestamps and
    parsing them in Python (psycopg's loader) was half of a large company's scrape."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
    output_field = FloatField()


def _certificates(now: datetime) -> list[CertificateFigures]:
    """Two queries: the certificates in service, then the ones they replaced still in use."""
    # Elsewhere (SQLite, the development default) the datetime, turned into seconds here.
    in_sql = connection.vendor == "postgresql"
    fields = (
        "environment__slug",
        "purpose",
        "signing_request__common_name",
        "serial",
        "expires" if in_sql else "not_after",
    )
    expires = _EpochSeconds("not_after") if in_sql else F("not_after")
    # The one answer to "which certificate is in service" (docs/architecture.md), as tuples.
    in_service = (
        certificates_in_service(now=now)
        .annotate(expires=expires)
        .order_by("environment__slug", "purpose")
        .values_list(*fields)
    )
    # Always its own query (never skipped when there is none), so the count stays fixed. Led
    # by the certificates in service that replaced one (the unique index on ``replaces``), not
    # by every unexpired certificate probing for a successor: 16 ms to 0.05 ms at 10,000.
    replaced_by_one_in_service = Certificate.objects.filter(
        superseded_at__isnull=True, replaces__isnull=False
    ).values("replaces_id")
    predecessors = (
        Certificate.objects.filter(
            pk__in=replaced_by_one_in_service,
            not_after__gt=now,
            revocation__isnull=True,
        )
        .annotate(expires=expires)
        .order_by("environment__slug", "purpose")
        .values_list(*fields)
    )
    return [
        CertificateFigures(
            environment,
            purpose,
            common_name,
            serial,
            not_after if in_sql else not_after.timestamp(),
            current,
        )
        for rows, current in ((in_service, True), (predecessors, False))
        for environment, purpose, common_name, serial, not_after in rows
    ]


def _sent_at(sent_at: datetime | None, sent_on: date | None) -> datetime | None:
    """When a request went to the TAM: the day the person gave ("I sent it myself"), at
    midnight UTC, rather than the hour certdesk recorded it; else the time certdesk sent it
    (a sent request has one: a database constraint)."""
    if sent_on is not None:
        return datetime.combine(sent_on, time.min, tzinfo=UTC)
    return sent_at


def _renewals(certificates: list[CertificateFigures]) -> list[RenewalFigures]:
    """Two queries: the environments, and the open requests with a CSR (ready or sent).

    Reported for every (environment, purpose) the environment needs (mTLS, and the signature set
    where it is required) and any other that has a certificate in service or an open request.
    """
    environments = Environment.objects.values_list("slug", "signature_required")
    open_requests = SigningRequest.objects.filter(
        status__in=[SigningRequest.Status.READY, SigningRequest.Status.SENT]
    ).values_list("environment__slug", "purpose", "status", "sent_at", "sent_on")
    sent_status, mtls, signature = SENT_STATUS, MTLS, SIGNATURE  # read once, not per row
    state: dict[tuple[str, str], str] = {}
    waiting: dict[tuple[str, str], datetime] = {}
    for slug, purpose, status, sent_at, sent_on in open_requests:
        pair = (slug, purpose)
        if status == sent_status:
            state[pair] = RENEWAL_SENT
            sent = _sent_at(sent_at, sent_on)
            if sent is not None:
                waiting[pair] = min(sent, waiting.get(pair, sent))
        else:
            state.setdefault(pair, RENEWAL_CSR_READY)
    pairs: set[tuple[str, str]] = set()
    for slug, signature_required in environments:
        pairs.add((slug, mtls))
        if signature_required:
            pairs.add((slug, signature))
    pairs.update((c.environment, c.purpose) for c in certificates if c.in_service)
    pairs.update(state)
    return [
        RenewalFigures(
            environment,
            purpose,
            state.get((environment, purpose), RENEWAL_NONE),
            waiting.get((environment, purpose)),
        )
        for environment, purpose in sorted(pairs)
    ]


def _outbox() -> dict[tuple[str, str], int]:
    """One grouped query over the outbox (bodies never read)."""
    counts = dict.fromkeys(
        ((kind, state) for kind in OutboundEmail.Kind.values for state in OUTBOX_STATES), 0
    )
    rows = OutboundEmail.objects.values("kind", "status").annotate(
        emails=Count("pk"), given_up=Count("pk", filter=Q(attempts__gte=MAX_ATTEMPTS))
    )
    for row in rows.order_by():
        kind, status = row["kind"], row["status"]
        if status == OutboundEmail.Status.FAILED:
            counts[kind, "failed"] = counts.get((kind, "failed"), 0) + row["given_up"]
            counts[kind, "retrying"] = counts.get((kind, "retrying"), 0) + (
                row["emails"] - row["given_up"]
            )
        else:
            counts[kind, status] = counts.get((kind, status), 0) + row["emails"]
    return counts


def _login_failures(now: datetime) -> tuple[int, int, int]:
    """Three queries: failed logins within the cool-off (django-axes counts only those), and the
    accounts and addresses locked out now (certificates/lockout.py's own answer)."""
    since = now - settings.AXES_COOLOFF_TIME
    total = AccessAttempt.objects.filter(attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start")
    )
    return int(total["failures"] or 0), len(locked_accounts()), len(locked_addresses())


def _moment(value: object) -> datetime | None:
    """A time the cache holds as ISO 8601 text; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cached() -> tuple[ScanFigures, datetime | None]:
    """The expiry scan's and the worker's last marks, in one cache round trip; unknown (absent
    from the page, which the alert rules read as "not seen") when the cache does not answer."""
    try:
        values = cache.get_many(
            [EXPIRY_SCAN_CACHE_KEY, EXPIRY_SCAN_RUN_CACHE_KEY, HEARTBEAT_CACHE_KEY]
        )
    except Exception as error:  # Redis down: the database's figures are still worth a scrape
        logger.warning(
            "/metrics: the cache does not answer (%s: %s); the last scan and heartbeat are "
            "left out",
            type(error).__name__,
            error,
        )
        values = {}
    run = values.get(EXPIRY_SCAN_RUN_CACHE_KEY)
    run = run if isinstance(run, dict) else {}
    errors = run.get("errors")
    scan = ScanFigures(
        last_success=_moment(values.get(EXPIRY_SCAN_CACHE_KEY)),
        last_run=_moment(run.get("at")),
        last_run_errors=errors if isinstance(errors, int) else 0,
    )
    return scan, _moment(values.get(HEARTBEAT_CACHE_KEY))


def _beat_seconds(name: str) -> float:
    schedule = settings.CELERY_BEAT_SCHEDULE[name]["schedule"]
    return float(schedule.total_seconds())  # type: ignore[attr-defined]


def metrics_snapshot(*, now: datetime | None = None) -> MetricsSnapshot:
    """Everything /metrics reports, in eight queries and one cache read."""
    now = now or timezone.now()
    certificates = _certificates(now)
    failures, accounts, addresses = _login_failures(now)
    scan, heartbeat = _cached()
    return MetricsSnapshot(
        certificates=certificates,
        renewals=_renewals(certificates),
        outbox=_outbox(),
        login_failures=failures,
        locked_accounts=accounts,
        locked_addresses=addresses,
        scan=scan,
        heartbeat=heartbeat,
        renewal_lead_seconds=float(settings.CERTDESK_RENEWAL_LEAD_DAYS * 86400),
        scan_interval_seconds=_beat_seconds("expiry-scan"),
        heartbeat_interval_seconds=_beat_seconds("heartbeat"),
    )
