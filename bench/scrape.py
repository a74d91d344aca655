"""One Prometheus scrape of /metrics at 10 and 10,000 certificates: its time and its queries.

GET /metrics through the test Client with the bench's bearer token (CERTDESK_METRICS_TOKEN, set
by ``env.configure``), so the time covers the middleware, certdesk's collector (the database
read at scrape time) and django-prometheus' own metrics, rendered as text. Two shapes of 10,000
certificates, each against 10 of the same shape:

- the pages' (``seed.certificates_over``): 10 (environment, purpose) pairs with a long history,
  10 in service and 9,990 superseded: history, which /metrics leaves out, must cost nothing;
- all in service (``seed.certificates`` without history): 10,000 pairs over 5,000
  environments, every certificate a series: the largest page certdesk can be asked for.

The target: under 200 ms at 10,000, and the same number of queries as at 10 (issue 18).
``python -m bench.scrape`` runs this step alone, on the bench's own database and Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import env
from bench.table import Row, median, ms, ratio, say

SIZES = (10, 10_000)
PAIRS_ENVIRONMENTS = 5  # x 2 purposes: the pages' 10 pairs
REQUESTS = 20
WARM_UP = 3
LIMIT = 0.200  # seconds, at 10,000 certificates


def _get(client: Client) -> bytes:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {env.BENCH_METRICS_TOKEN}")
    if response.status_code != 200:
        raise RuntimeError(f"GET /metrics answered {response.status_code}, not 200")
    return response.content


def _scrape(client: Client) -> tuple[float, int, int]:
    """Median time of REQUESTS scrapes after a warm-up, the queries of one more, and the
    samples of its page (its lines that are not comments, counted outside the timing)."""
    for _ in range(WARM_UP):
        _get(client)
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        _get(client)
        times.append(time.perf_counter() - start)
    with CaptureQueriesContext(connection) as queries:
        page = _get(client)
    samples = sum(1 for line in page.splitlines() if line and not line.startswith(b"#"))
    return median(times), len(queries), samples


def _history(size: int, now: datetime) -> None:
    from bench import seed  # imports the models: Django is set up by then

    pairs = seed.pairs_of(seed.first_environments(PAIRS_ENVIRONMENTS))
    seed.certificates_over(pairs, size, not_after=seed.spread(size, now=now))


def _in_service(size: int, now: datetime) -> None:
    from bench import seed

    seed.certificates(size, not_after=seed.at(now + timedelta(days=200)), history=0)


SHAPES: tuple[tuple[str, Callable[[int, datetime], None]], ...] = (
    ("10 (environment, purpose) pairs, the rest superseded", _history),
    ("all in service (one environment per 2)", _in_service),
)


def measure(now: datetime) -> list[Row]:
    """Truncates what it seeded before each size; leaves the last shape's 10,000 in place."""
    from bench import seed

    client = Client()
    rows = []
    for shape, fill in SHAPES:
        figures: dict[int, tuple[float, int, int]] = {}
        for size in SIZES:
            seed.truncate()
            fill(size, now)
            seed.analyze()
            figures[size] = _scrape(client)
            elapsed, queries, samples = figures[size]
            say(f"  /metrics, {size:,} certificates, {shape}: {ms(elapsed)}, {queries} queries")
        small, large = SIZES
        base_time, base_queries, base_samples = figures[small]
        elapsed, queries, samples = figures[large]
        rows.append(
            Row(
                f"Metrics scrape (GET /metrics), {small:,} certificates, {shape}",
                f"{ms(base_time)}, {base_queries} queries, {base_samples} samples",
            )
        )
        rows.append(
            Row(
                f"Metrics scrape (GET /metrics), {large:,} certificates, {shape} "
                f"(median of {REQUESTS})",
                f"{ms(elapsed)}, {queries} queries, {samples:,} samples",
                f"{small:,}: {ms(base_time)}, {base_queries} queries",
                ratio(elapsed, base_time),
                f"< {LIMIT * 1000:.0f} ms; queries = at {small}",
                elapsed < LIMIT and queries == base_queries,
            )
        )
    return rows


def main() -> int:
    """This step alone: a fresh bench database, the table of its rows."""
    import shutil
    import tempfile
    from pathlib import Path

    from bench.table import markdown

    var_dir = Path(tempfile.mkdtemp(prefix="certdesk-bench-"))
    try:
        env.configure(var_dir)
        env.recreate_database()
        env.flush_redis()
        env.setup_django()
        from django.utils import timezone

        rows = measure(timezone.now())
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    say()
    say(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
