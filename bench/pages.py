"""The dashboard and the certificate list, rendered through the test Client at 10 and 10,000
certificates, logged in as a superuser (who sees every environment).

The dashboard shows one row per environment with its certificate in service per purpose, so
it is measured on a realistic company: ``ENVIRONMENTS`` environments (Sandbox, Production and
bench ones), 10 (environment, purpose) pairs. At 10 certificates each pair has one, in
service; at 10,000 each pair has a history of 1,000, the latest in service and the others
superseded, which the certificate list (every certificate, superseded ones included) pages
through. The dates grow pair by pair, so the certificates in service show about the same mix
of statuses at both sizes (half expired, half valid).
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import seed
from bench.table import Row, median, ms, ratio, say

SIZES = (10, 10_000)
ENVIRONMENTS = 5
REQUESTS = 20
WARM_UP = 3
LIST_LIMIT = 0.150  # seconds, for the certificate list at 10,000
PAGES = (("Dashboard", "/"), ("Certificate list (first page, 50 rows)", "/certificates/"))


def _get(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}, not 200")


def _render(client: Client, url: str) -> tuple[float, int]:
    """Median time of REQUESTS renders after a warm-up, and the queries of one more."""
    for _ in range(WARM_UP):
        _get(client, url)
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        _get(client, url)
        times.append(time.perf_counter() - start)
    with CaptureQueriesContext(connection) as queries:
        _get(client, url)
    return median(times), len(queries)


def measure(client: Client, now: datetime) -> list[Row]:
    """Leaves the 10,000 certificates in place, for the memory and load measurements."""
    figures: dict[tuple[str, int], tuple[float, int]] = {}
    for size in SIZES:
        seed.truncate()
        pairs = seed.pairs_of(seed.first_environments(ENVIRONMENTS))
        seed.certificates_over(pairs, size, not_after=seed.spread(size, now=now))
        seed.analyze()
        for name, url in PAGES:
            figures[name, size] = _render(client, url)
            elapsed, queries = figures[name, size]
            say(f"  {name}, {size:,} certificates: {ms(elapsed)}, {queries} queries")
    rows = []
    small, large = SIZES
    for name, _url in PAGES:
        base_time, base_queries = figures[name, small]
        rows.append(
            Row(f"{name}, {small:,} certificates", f"{ms(base_time)}, {base_queries} queries")
        )
        elapsed, queries = figures[name, large]
        is_list = name != PAGES[0][0]
        rows.append(
            Row(
                f"{name}, {large:,} certificates (median of {REQUESTS})",
                f"{ms(elapsed)}, {queries} queries",
                f"{small:,}: {ms(base_time)}, {base_queries} queries",
                ratio(elapsed, base_time),
                f"queries = at {small}" + (f"; < {LIST_LIMIT * 1000:.0f} ms" if is_list else ""),
                queries == base_queries and (not is_list or elapsed < LIST_LIMIT),
            )
        )
    return rows
