"""certdesk's own metrics, read from the database at each scrape and written as Prometheus text.

Every figure comes from one :func:`~certificates.selectors.metrics.metrics_snapshot`, a fixed
number of queries whatever the number of certificates; history is left out (the selector says
what history is), so the series stay bounded by the environments. Names follow Prometheus'
conventions (base units, ``_timestamp_seconds`` for Unix times) and, for the expiry,
cert-manager's ``certmanager_certificate_expiration_timestamp_seconds``, which operations teams
alert on already: ``certdesk_certificate_not_after_timestamp_seconds``.

The text is written here rather than through prometheus_client's metric families: its generic
writer checks and escapes every label name of every sample, and a scrape of a company with 10,000
certificates in service took 600 ms that way; written here, with the cyclic garbage collector
paused, it takes about 110 ms, database included (``make bench``, bench/scrape.py). The format
is the text exposition format 0.0.4, which every Prometheus reads; the tests parse it with
prometheus_client's own parser.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from certificates.selectors.metrics import (
    OUTBOX_STATES,
    RENEWAL_STATES,
    MetricsSnapshot,
    metrics_snapshot,
)

# Every metric this collector can report, with its help text (all gauges): the Grafana dashboard
# and the alert rules may name only these (tests/metrics/test_deploy_files.py).
HELP = {
    "certdesk_certificate_not_after_timestamp_seconds": (
        "The certificate's notAfter, as a Unix time: the certificate in service for each "
        "environment and purpose, and the one it replaced while still valid (history left out)."
    ),
    "certdesk_certificate_in_service": (
        "1 for the certificate in service for its environment and purpose, 0 for the one it "
        "replaced, still valid, that servers may still present."
    ),
    "certdesk_renewal_state": (
        "The renewal state of each environment and purpose, one series per state, 1 for the "
        "current one: none, csr_ready (a CSR not sent yet) or sent (waiting for the TAM)."
    ),
    "certdesk_renewal_sent_timestamp_seconds": (
        "When the request waiting for the TAM was sent (the longest wait), as a Unix time; only "
        "for the pairs whose renewal state is sent."
    ),
    "certdesk_renewal_lead_seconds": (
        "How long before notAfter a renewal starts (CERTDESK_RENEWAL_LEAD_DAYS), in seconds."
    ),
    "certdesk_outbox_emails": (
        "Outbox emails by kind and state: queued, sending, sent, retrying, failed (given up for "
        "good) or refused (the outgoing guard)."
    ),
    "certdesk_expiry_scan_last_success_timestamp_seconds": (
        "When the last expiry scan finished with no error, as a Unix time; absent until one has "
        "since the cache was last emptied."
    ),
    "certdesk_expiry_scan_last_run_timestamp_seconds": (
        "When the last expiry scan finished, with or without errors, as a Unix time."
    ),
    "certdesk_expiry_scan_last_run_errors": (
        "How many reminders the last expiry scan could not process (they stay pending)."
    ),
    "certdesk_expiry_scan_interval_seconds": (
        "How often beat runs the expiry scan (CERTDESK_EXPIRY_SCAN_SECONDS)."
    ),
    "certdesk_worker_heartbeat_timestamp_seconds": (
        "The last heartbeat a Celery worker wrote, as a Unix time; absent until one has since "
        "the cache was last emptied."
    ),
    "certdesk_worker_heartbeat_interval_seconds": (
        "How often beat asks a worker for a heartbeat (CERTDESK_HEARTBEAT_SECONDS)."
    ),
    "certdesk_login_failures": (
        "Failed logins within the cool-off (CERTDESK_LOGIN_COOLOFF_MINUTES), django-axes' count."
    ),
    "certdesk_login_locked": "Accounts and addresses locked out now (kind: account or address).",
}

Sample = tuple[str, float]  # (the label part, "" or '{a="b",...}'; the value)


def _escape(value: str) -> str:
    """A label value in the text format: backslash, double quote and line feed escaped."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _labels(**pairs: str) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs.items()) + "}"


def _number(value: float) -> str:
    """As Prometheus writes numbers: integers without a fraction, NaN and infinities by name."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _header(name: str) -> str:
    help_text = HELP[name].replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"


def _family(name: str, samples: Iterable[Sample]) -> Iterator[str]:
    yield _header(name)
    for labels, value in samples:
        yield f"{name}{labels} {_number(value)}\n"


def lines(snapshot: MetricsSnapshot) -> Iterator[str]:
    """The text of one snapshot, family by family, in a stable order."""
    # One f-string per certificate, not _labels' generic join: 10,000 at a large company.
    certificates = [
        (
            f'{{environment="{_escape(c.environment)}",purpose="{_escape(c.purpose)}",'
            f'common_name="{_escape(c.common_name)}",serial="{_escape(c.serial)}"}}',
            c,
        )
        for c in snapshot.certificates
    ]
    # The three largest families: each one string made by a list comprehension (a generator
    # yielding 50,000 lines one by one took a quarter of a large scrape).
    name = "certdesk_certificate_not_after_timestamp_seconds"
    yield _header(name)
    yield "".join([f"{name}{labels} {c.not_after!r}\n" for labels, c in certificates])
    name = "certdesk_certificate_in_service"
    yield _header(name)
    yield "".join([f"{name}{labels} {1 if c.in_service else 0}\n" for labels, c in certificates])

    name = "certdesk_renewal_state"
    yield _header(name)
    yield "".join(
        [
            f'{pair},state="{state}"}} {1 if r.state == state else 0}\n'
            for r in snapshot.renewals
            # Each pair's labels escaped once for its three states.
            for pair in (
                f'{name}{{environment="{_escape(r.environment)}",purpose="{_escape(r.purpose)}"',
            )
            for state in RENEWAL_STATES
        ]
    )

    yield from _family(
        "certdesk_renewal_sent_timestamp_seconds",
        (
            (_labels(environment=r.environment, purpose=r.purpose), r.sent_at.timestamp())
            for r in snapshot.renewals
            if r.sent_at is not None
        ),
    )
    yield from _family("certdesk_renewal_lead_seconds", [("", snapshot.renewal_lead_seconds)])

    yield from _family(
        "certdesk_outbox_emails",
        (
            (_labels(kind=kind, state=state), float(count))
            for (kind, state), count in sorted(
                snapshot.outbox.items(),
                key=lambda item: (item[0][0], OUTBOX_STATES.index(item[0][1])),
            )
        ),
    )

    scan = snapshot.scan
    yield from _family(
        "certdesk_expiry_scan_last_success_timestamp_seconds",
        [("", scan.last_success.timestamp())] if scan.last_success else [],
    )
    yield from _family(
        "certdesk_expiry_scan_last_run_timestamp_seconds",
        [("", scan.last_run.timestamp())] if scan.last_run else [],
    )
    yield from _family(
        "certdesk_expiry_scan_last_run_errors",
        [("", float(scan.last_run_errors))] if scan.last_run else [],
    )
    yield from _family(
        "certdesk_expiry_scan_interval_seconds", [("", snapshot.scan_interval_seconds)]
    )
    yield from _family(
        "certdesk_worker_heartbeat_timestamp_seconds",
        [("", snapshot.heartbeat.timestamp())] if snapshot.heartbeat else [],
    )
    yield from _family(
        "certdesk_worker_heartbeat_interval_seconds", [("", snapshot.heartbeat_interval_seconds)]
    )

    yield from _family("certdesk_login_failures", [("", float(snapshot.login_failures))])
    yield from _family(
        "certdesk_login_locked",
        [
            (_labels(kind="account"), float(snapshot.locked_accounts)),
            (_labels(kind="address"), float(snapshot.locked_addresses)),
        ],
    )


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """A scrape of a large company allocates some 100,000 short-lived objects (rows, figures,
    lines) and makes no reference cycle; the cyclic garbage collector, set off by that many
    allocations, would walk the whole process's heap again and again, half the scrape's time
    at 10,000 certificates in service. Reference counting still frees everything at once."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def collect() -> bytes:
    """Read the database now (a fixed number of queries) and write certdesk's metrics."""
    with _without_cycle_collection():
        return "".join(lines(metrics_snapshot())).encode("utf-8")
