"""``make bench``: measure certdesk and print one table, each figure beside its reference.

Order matters only for the data each step needs: key creation on an empty database; the first
expiry scan queues 1,000 emails that the Celery worker then sends; the pages get 10 then 10,000
certificates, which the web-memory and load steps reuse; the /metrics scrape seeds its own 10 and
10,000 (two shapes); the steady-state scans grow the data
to 100,000 certificates in service (and as many superseded) last, as they are the slowest to seed.

Variables: BENCH_DATABASE_URL (a database whose name contains "bench"; dropped and recreated),
BENCH_REDIS_URL (flushed), BENCH_LOAD_SECONDS (60), BENCH_LOAD_CONNECTIONS (8),
BENCH_KEYGEN_ROUNDS (100), BENCH_OPENSSL_ROUNDS (20), BENCH_FIRST_SCAN_CERTIFICATES (500).
Exit 0 whether targets are met or not (a measurement, not a test); non-zero on an error.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from bench import env
from bench.table import Row, markdown, say, stopwatch


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


NOTES = [
    "Ratios are result ÷ reference, both measured in this run. Times are wall-clock medians.",
    "Key + CSR: the view and the floor alternate, 1:1, in one process; the view's time is the "
    "review POST alone (the wizard's earlier steps are walked untimed before each).",
    "Expiry scan, steady state: every certificate in service is a candidate (20 days left, "
    "valid) with its TAM and 30-day owner reminders already recorded, so the scan judges all "
    "of them in SQL, loads none and records nothing: the hourly case at its heaviest. One "
    "certificate is in service per environment and purpose, so N in service are N/2 "
    "environments; each has one superseded predecessor (with its reminders) as dead weight.",
    "Expiry scan, first run: the certificates have 5 days left and nothing recorded; the time "
    "includes composing each email, storing it in the outbox and queuing its task on Redis; "
    "its queries are counted by an execute wrapper (CaptureQueriesContext keeps the last 9,000 "
    "only), which leaves out BEGIN and COMMIT.",
    "Pages: 5 environments (Sandbox, Production, 3 more) x mTLS and signature; certificates "
    "with distinct expiry dates from 10 months ago to 10 months ahead, the latest of each pair "
    "in service and the others superseded (at 10,000: 10 in service, 9,990 superseded); "
    "superuser session; 3 warm-up requests.",
    "Memory: VmHWM (peak resident set) from /proc/<pid>/status, read while the process runs.",
    "Load: wrk, gunicorn and PostgreSQL share the same cores; one session cookie for all.",
    "Metrics scrape: GET /metrics with the bearer token through the test Client (middleware, "
    "certdesk's collector reading the database, django-prometheus' metrics, the text); "
    "samples are the page's lines that are not comments.",
]


def main() -> int:
    started = time.perf_counter()
    var_dir = Path(tempfile.mkdtemp(prefix="certdesk-bench-"))
    try:
        env.configure(var_dir)
        with stopwatch(f"fresh database {env.database_url()}, Redis {env.redis_url()}"):
            env.recreate_database()
            env.flush_redis()
            env.setup_django()
        rows = _measure()
        header = env.machine()
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    say()
    say("## certdesk performance (make bench)")
    say()
    for line in header:
        say(f"- {line}")
    say()
    say(markdown(rows))
    say()
    for note in NOTES:
        say(f"- {note}")
    missed = [row.what for row in rows if row.met is False]
    say()
    say(f"{len(missed)} target(s) not met; whole run {time.perf_counter() - started:.0f} s.")
    return 0


def _measure() -> list[Row]:
    # Imported once Django is set up: they import the models.
    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from bench import keygen, load, memory, pages, scan, scrape, seed

    user = User.objects.create_superuser("bench", "bench@acme.example", secrets.token_urlsafe(24))
    client = Client()
    client.force_login(user)
    rows: list[Row] = []

    with stopwatch("key + CSR: the wizard's view, cryptography and openssl, interleaved"):
        rows += keygen.measure(
            client,
            rounds=_int("BENCH_KEYGEN_ROUNDS", 100),
            openssl_rounds=_int("BENCH_OPENSSL_ROUNDS", 20),
        )

    seed.truncate()
    with stopwatch("first expiry scan, then a Celery worker sends what it queued"):
        first_row, emails = scan.first(
            timezone.now(), certificates=_int("BENCH_FIRST_SCAN_CERTIFICATES", 500)
        )
        rows.append(first_row)
        rows.append(memory.worker(emails=emails))

    with stopwatch("dashboard and certificate list at 10 and 10,000 certificates"):
        rows += pages.measure(client, timezone.now())
    certificates = pages.SIZES[-1]
    # The browser's cookies (session, and CSRF when a page set it) for gunicorn and wrk.
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())

    with stopwatch("web process memory over 1,000 requests"):
        rows.append(memory.web(cookie, certificates=certificates))

    seconds = _int("BENCH_LOAD_SECONDS", 60)
    with stopwatch(f"load: {seconds} s of dashboard requests"):
        rows.append(
            load.run(
                cookie,
                seconds=seconds,
                connections=_int("BENCH_LOAD_CONNECTIONS", 8),
                certificates=certificates,
            )
        )

    with stopwatch("a Prometheus scrape of /metrics at 10 and 10,000 certificates"):
        rows += scrape.measure(timezone.now())

    seed.truncate()
    with stopwatch("expiry scan, steady state, at 1,000, 10,000 and 100,000 certificates"):
        rows += scan.steady(timezone.now())
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
