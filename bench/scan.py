"""The expiry scan on PostgreSQL: the hourly steady state at 1,000 to 100,000 certificates, and
the first scan that has to record and queue reminders for many certificates at once.

"Scanned" here means the heaviest honest case: every certificate of the database sits inside
the reminder window (20 days left) and is valid, so every one is a candidate the scan must
select, load with its reminders and renewals, and judge; each already has its due reminders
recorded (TAM renewal and 30-day owner reminder, ``sent``), so nothing new is due. That is the
hourly case once the first scan has run. Certificates outside the window cost the scan nothing:
its selection is a range on the ``not_after`` index.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import seed
from bench.table import Row, median, ms, ratio, say
from certificates.models import Reminder
from certificates.services.reminders import ScanReport, expiry_scan

SIZES = (1_000, 10_000, 100_000)
SEED_LIMIT = 60.0  # seconds for 100,000 certificates
SCAN_LIMIT = 1.0  # seconds for the hourly scan of 100,000
# At most this many timed scans per size, fewer once one scan takes long (the median of three
# tells more than one, but not at 30 s each).
REPEATS = 3
LONG = 5.0


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
        if report.candidates != size or report.outcomes or report.errors:
            raise RuntimeError(f"not a steady state at {size:,}: {report.summary()}")
        times: list[float] = []
        while len(times) < REPEATS:
            elapsed, _ = _scan(now)
            times.append(elapsed)
            if elapsed > LONG:
                break
        figures[size] = (median(times), queries)
        say(f"  {size:,} certificates: {ms(median(times))}, {queries} queries ({len(times)} runs)")
    first_size = SIZES[0]
    base_time, base_queries = figures[first_size]
    for size in SIZES:
        elapsed, queries = figures[size]
        last = size == SIZES[-1]
        label = (
            f"Expiry scan, steady state (hourly case): {size:,} certificates, all in the "
            "window, reminders recorded, nothing new due"
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
    total = sum(seeding)
    rows.append(
        Row(
            f"Seeding {SIZES[-1]:,} certificates (key, request, certificate, 2 reminders each; "
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


def first(now: datetime, *, certificates: int) -> tuple[Row, int]:
    """``certificates`` newly due (5 days left, nothing recorded yet): each gets the TAM's
    renewal email and the 7-day owner reminder, and its 30- and 14-day ones recorded skipped.
    Returns the row and the number of emails queued (for the worker to send)."""
    start = time.perf_counter()
    seed.certificates(certificates, not_after=seed.at(now + timedelta(days=5, hours=1)))
    seed.analyze()
    seeding = time.perf_counter() - start
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        report = expiry_scan(now=now)
    elapsed = time.perf_counter() - start
    queued = report.count("queued")
    if report.errors or not queued:
        raise RuntimeError(f"the first scan failed: {report.summary()}")
    per_email = len(queries) / queued
    row = Row(
        f"Expiry scan, first run: {certificates:,} certificates newly due → {queued:,} emails "
        f"queued (TAM + owners), {report.count('skipped'):,} older thresholds recorded skipped",
        f"{ms(elapsed)}, {len(queries):,} queries ({per_email:.1f} per email)",
        f"{ms(elapsed / queued)} per email queued; seeded in {seeding:.1f} s",
    )
    return row, queued
