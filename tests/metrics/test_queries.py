"""One scrape reads the database in a fixed number of queries, at 10 certificates as at 1,000,
and its series stay bounded by the environments, not the years of history (issue 18). Timing is
``make bench``'s (bench/scrape.py), never asserted here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import seed
from certificates.models import Environment, OutboundEmail, SigningRequest
from certificates.selectors.metrics import metrics_snapshot
from tests.support.factories import requests_bulk
from tests.support.metrics import scrape

pytestmark = pytest.mark.django_db

# The selector's documented count: certificates in service, those they replaced, failed logins
# and the two kinds of lockout, environments, open requests, the outbox.
SNAPSHOT_QUERIES = 8


def _queries_of_one_scrape() -> int:
    with CaptureQueriesContext(connection) as queries:
        scrape()
    return len(queries)


def _more_of_everything(count: int) -> None:
    """Open requests and outbox emails in proportion, so that none of them is read row by row."""
    environment = Environment.objects.order_by("pk").first()
    assert environment is not None
    requests_bulk(environment, count, status=SigningRequest.Status.SENT)
    requests_bulk(environment, count, status=SigningRequest.Status.READY)
    OutboundEmail.objects.bulk_create(
        OutboundEmail(kind="reminder", status=status, to=["x@acme.example"], subject="s")
        for status in ("queued", "sent", "failed") * count
    )


@pytest.mark.slow
def test_a_scrape_costs_the_same_queries_at_10_and_1000_certificates_in_service(
    metrics_on: str,
) -> None:
    """The heaviest shape: every certificate in service (one environment per two purposes), so
    every one of them is reported; each has an expired predecessor (history)."""
    now = timezone.now()
    seed.certificates(10, not_after=seed.at(now + timedelta(days=200)))
    _more_of_everything(5)
    at_10 = _queries_of_one_scrape()
    seed.certificates(990, not_after=seed.at(now + timedelta(days=200)))
    _more_of_everything(500)
    at_1000 = _queries_of_one_scrape()
    assert at_10 == at_1000 == SNAPSHOT_QUERIES
    samples = scrape()
    in_service = samples["certdesk_certificate_in_service"]
    assert sum(value == 1.0 for value in in_service.values()) == 1000


@pytest.mark.slow
def test_history_does_not_grow_the_page(metrics_on: str, django_assert_num_queries: Any) -> None:
    """Pairs with one certificate each, then pairs with 100 each (renewed every two months over
    20 months): the page names at most the one in service and the one it replaced per pair, in
    the same queries."""
    now = timezone.now()
    few = seed.pairs_of(seed.environments(5))
    seed.certificates_over(few, 10, not_after=seed.spread(10, now=now))
    with django_assert_num_queries(SNAPSHOT_QUERIES):
        metrics_snapshot()
    many = seed.pairs_of(seed.environments(5))
    seed.certificates_over(many, 1000, not_after=seed.spread(1000, now=now))
    with django_assert_num_queries(SNAPSHOT_QUERIES):
        snapshot = metrics_snapshot()
    pairs = len(few) + len(many)
    assert len(snapshot.certificates) <= 2 * pairs
    assert sum(c.in_service for c in snapshot.certificates) == pairs
