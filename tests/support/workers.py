"""A real ``celery -A config worker`` for the end-to-end tests: one process (``--pool solo``) on a
queue the test names, with the environment it is given, against the test database when asked.

Stopped by its own process (terminate, then kill past 30 s) before the test database is emptied,
unless the test killed it itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]


def the_test_database_url() -> str:
    """The database this test runs in (``test_<name>``), for the worker to use the same one."""
    db = settings.DATABASES["default"]
    credentials = quote(str(db.get("USER") or ""), safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(str(db["PASSWORD"]), safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(str(db['NAME']), safe='')}"


@contextmanager
def celery_worker(
    *, queue: str, var_dir: Path, variables: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """The worker process, consuming ``queue``, with the suite's environment plus
    ``variables`` (the production settings module, ``CERTDESK_VAR_DIR`` set to ``var_dir``)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CERTDESK_VAR_DIR": str(var_dir),
        **variables,
    }
    process = subprocess.Popen(
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
            "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait(timeout=30)
