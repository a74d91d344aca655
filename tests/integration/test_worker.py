"""A real Celery worker, on the real Redis broker, executes certdesk's tasks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.result import allow_join_result
from django.core.cache import caches

from certificates.selectors import HEARTBEAT_CACHE_KEY
from tests.support.workers import celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture
def worker_queue(redis_url: str, tmp_path: Path) -> Iterator[str]:
    """``celery -A config worker`` on a queue of its own, stopped afterwards."""
    queue = f"certdesk-test-{uuid.uuid4().hex[:8]}"
    variables = {
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "CACHE_URL": redis_url,
    }
    with celery_worker(queue=queue, var_dir=tmp_path, variables=variables):
        yield queue


def test_real_worker_runs_the_heartbeat_task(redis_url: str, worker_queue: str) -> None:
    """The task sent through Redis runs in the worker, which records its heartbeat in Redis."""
    # Not made the current app: the suite's own (eager) app stays the one tasks publish through.
    client = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
    result = client.send_task("certificates.tasks.heartbeat", queue=worker_queue)
    # Threads of other tests that ran eager tasks at once can leave Celery's process-wide
    # "inside a task" flag set; this test is not inside a task, so it may wait for a result.
    with allow_join_result():
        ran_at = result.get(timeout=60)
    shared_cache = caches.create_connection("default")
    assert shared_cache.get(HEARTBEAT_CACHE_KEY) == ran_at
