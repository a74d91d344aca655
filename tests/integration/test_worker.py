"""A real Celery worker, on the real Redis broker, executes certdesk's tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.result import allow_join_result
from django.core.cache import caches

from certificates.selectors import HEARTBEAT_CACHE_KEY

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture
def worker_queue(redis_url: str, tmp_path: Path) -> Iterator[str]:
    """Start ``celery -A config worker`` on a queue of its own and stop it afterwards."""
    queue = f"certdesk-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CERTDESK_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "CACHE_URL": redis_url,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    try:
        yield queue
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_real_worker_runs_the_heartbeat_task(redis_url: str, worker_queue: str) -> None:
    """The task sent through Redis runs in the worker, which records its heartbeat in Redis."""
    client = Celery(broker=redis_url, backend=redis_url)
    result = client.send_task("certificates.tasks.heartbeat", queue=worker_queue)
    # Threads of other tests that ran eager tasks at once can leave Celery's process-wide
    # "inside a task" flag set; this test is not inside a task, so it may wait for a result.
    with allow_join_result():
        ran_at = result.get(timeout=60)
    shared_cache = caches.create_connection("default")
    assert shared_cache.get(HEARTBEAT_CACHE_KEY) == ran_at
