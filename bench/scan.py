"""The expiry scan on PostgreSQL: the hourly steady state at 1,000 to 100,000 certificates in
service, and the first scan that has to record and queue reminders for many certificates at once.

The scan looks only at certificates in service, and there is at most one per (environment,
purpose): 100,000 certificates in service are 100,000 pairs, so 50,000 environments
(``seed.certificates``). Each has one superseded predecessor as well (renewed a year earlier,
with its reminders), dead weight the scan must not pay for.

"Scanned" here means the heaviest honest case: every certificate in service sits inside the
reminder window (20 days left) and is valid, so every one is a candidate the scan must select
and judge; each already has its due reminders recorded (TAM renewal and 30-day owner reminder,
``sent``), so nothing new is due. That is the hourly case once the first scan has run.
Certificates outside the window, and superseded ones, cost the scan nothing: its selection is a
range on the partial ``not_after`` index of the certificates in service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import seed
from bench.seed import YEAR
from bench.table import Row, median, ms, ratio, say
from certificates.models import Certificate, Reminder
from certificates.services.reminders import ScanReport, expiry_scan

SIZES = (1_000, 10_000, 100_000)  # certificates in service; as many superseded besides
SEED_LIMIT = 120.0  # seconds for 100,000 certificates in service and 100,000 superseded
SCAN_LIMIT = 1.0  # seconds for the hourly scan of 100,000
# The first scan claims, stores and audits its rows a batch at a time (issue 14: 11.5 statements
# per email when each row went alone; tests/reminders/test_scan.py holds the same bound).
FIRST_SCAN_STATEMENTS_PER_EMAIL = 4
# At most this many timed scans per size, fewer once one scan takes long (the median of three
# tells more than one, but not at 30 s each).
REPEATS = 3
LONG = 5.0


class QueryCounter:
    """An execute wrapper (Django's database instrumentation) that counts statements."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self,
        execute: Callable[[str, Any, bool, dict[str, Any]], Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _scan(now: datetime) -> tuple[float, ScanReport]:
    start = time.perf_counter()
    report = expiry_scan(now=now)
    return time.perf_counter() - start, report


def _counted(now: datetime) -> tuple[int, ScanReport]:
    """The number of queries of one scan (apart from the timed ones: recording each SQL text,
    with its 100,000 ids, would cost time of its own)."""
    with CaptureQueriesContext(connection) as queries:
        report = expiry_scan(now=now)
    return len(queries), report


def steady(now: datetime) -> list[Row]:
    due_at = now + timedelta(days=20, hours=1)
    reminded = (Reminder.Kind.TAM_RENEWAL, Reminder.Kind.OWNER)
    rows: list[Row] = []
    seeding: list[float] = []
    figures: dict[int, tuple[float, int]] = {}
    seeded = 0
    for size in SIZES:
        start = time.perf_counter()
        seed.certificates(size - seeded, not_after=seed.at(due_at), reminded=reminded)
        seeding.append(time.perf_counter() - start)
        seed.analyze()
        seeded = size
        queries, report = _counted(now)
        # Steady: every due row exists already, so nothing is loaded, sent or skipped.
        if report.candidates or report.outcomes or report.errors:
            raise RuntimeError(f"not a steady state at {size:,}: {report.summary()}")
        figures[size] = (_timed(now), queries)
        say(f"  {size:,} certificates: {ms(figures[size][0])}, {queries} queries")
    first_size = SIZES[0]
    base_time, base_queries = figures[first_size]
    for size in SIZES:
        elapsed, queries = figures[size]
        last = size == SIZES[-1]
        label = (
            f"Expiry scan, steady state (hourly case): {size:,} certificates in service "
            f"({size // 2:,} environments), all in the window, + {size:,} superseded; "
            "reminders recorded, nothing new due"
        )
        if size == first_size:
            rows.append(Row(label, f"{ms(elapsed)}, {queries} queries"))
            continue
        rows.append(
            Row(
                label,
                f"{ms(elapsed)}, {queries} queries",
                f"{first_size:,}: {ms(base_time)}, {base_queries} queries",
                ratio(elapsed, base_time),
                (f"< {SCAN_LIMIT:.0f} s; " if last else "") + f"queries = at {first_size:,}",
                queries == base_queries and (not last or elapsed < SCAN_LIMIT),
            )
        )
    rows.append(_history(now, base_time))
    total = sum(seeding)
    rows.append(
        Row(
            f"Seeding {SIZES[-1]:,} certificates in service + {SIZES[-1]:,} superseded over "
            f"{SIZES[-1] // 2:,} environments (key, request, certificate, 2 reminders each; "
            "bulk_create in batches of 5,000)",
            f"{total:.1f} s",
            " + ".join(f"{t:.1f} s" for t in seeding)
            + " (per step of "
            + " → ".join(f"{s:,}" for s in SIZES)
            + ")",
            "",
            f"< {SEED_LIMIT:.0f} s",
            total < SEED_LIMIT,
        )
    )
    return rows


def _timed(now: datetime) -> float:
    times: list[float] = []
    while len(times) < REPEATS:
        elapsed, _ = _scan(now)
        times.append(elapsed)
        if elapsed > LONG:
            break
    return median(times)


def _history(now: datetime, window_time: float) -> Row:
    """The same data with all but the first 1,000 certificates in service expired long ago
    (more than the lead days, so never candidates: environments no longer used), besides the
    100,000 superseded ones. Shows the cost follows the certificates in the window, not the
    tables."""
    keep = SIZES[0]
    in_service = Certificate.objects.filter(superseded_at__isnull=True)
    first_ids = list(in_service.order_by("pk").values_list("pk", flat=True)[:keep])
    past = now - timedelta(days=60)
    in_service.exclude(pk__in=first_ids).update(not_after=past, not_before=past - YEAR)
    seed.analyze()
    queries, report = _counted(now)
    if report.candidates or report.outcomes or report.errors:
        raise RuntimeError(f"not a steady state with history: {report.summary()}")
    elapsed = _timed(now)
    total = SIZES[-1]
    say(f"  {total:,} certificates, {keep:,} in the window: {ms(elapsed)}, {queries} queries")
    return Row(
        f"Expiry scan, steady state: {total:,} certificates in service + {total:,} superseded; "
        f"of those in service, {total - keep:,} expired over 30 days ago and {keep:,} in the "
        "window",
        f"{ms(elapsed)}, {queries} queries",
        f"{keep:,} alone: {ms(window_time)}",
        ratio(elapsed, window_time),
    )


def first(now: datetime, *, certificates: int) -> tuple[Row, int]:
    """``certificates`` in service newly due (5 days left, nothing recorded yet; each in an
    environment and purpose of its own, with a superseded predecessor): each gets the TAM's
    renewal email and the 7-day owner reminder, and its 30- and 14-day ones recorded skipped.
    Their keys were brought by the user, so the scan prepares no renewal request itself
    (``Environment.prepare_renewals`` left to its default). Returns the row and the number of
    emails queued (for the worker to send)."""
    start = time.perf_counter()
    seed.certificates(certificates, not_after=seed.at(now + timedelta(days=5, hours=1)))
    seed.analyze()
    seeding = time.perf_counter() - start
    # Counted by a wrapper, not CaptureQueriesContext: that one keeps the last 9,000 queries
    # only, and this scan makes more.
    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        report = expiry_scan(now=now)
    elapsed = time.perf_counter() - start
    queued = report.count("queued")
    if report.errors or not queued:
        raise RuntimeError(f"the first scan failed: {report.summary()}")
    per_email = counter.count / queued
    row = Row(
        f"Expiry scan, first run: {certificates:,} certificates in service newly due (+ "
        f"{certificates:,} superseded) → {queued:,} emails queued (TAM + owners), "
        f"{report.count('skipped'):,} older thresholds recorded skipped",
        f"{ms(elapsed)}, {counter.count:,} queries ({per_email:.1f} per email)",
        f"{ms(elapsed / queued)} per email queued; seeded in {seeding:.1f} s",
        "",
        f"≤ {FIRST_SCAN_STATEMENTS_PER_EMAIL} statements per email",
        per_email <= FIRST_SCAN_STATEMENTS_PER_EMAIL,
    )
    return row, queued
