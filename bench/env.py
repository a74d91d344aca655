"""The bench's own world: environment variables, a fresh database, Redis db 3, the machine.

Everything is set here before Django is imported, so the bench runs the production settings
module (``config.settings``) on its own PostgreSQL database and Redis database, and the
gunicorn and Celery processes it starts inherit exactly the same configuration. Nothing under
the checkout's ``var/`` is touched: ``CERTDESK_VAR_DIR`` is a temporary folder.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/certdesk_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
# A fixed AES-256 key (base64 of 32 bytes), so no key file is written: the bench's own data.
BENCH_ENCRYPTION_KEY = "Y2VydGRlc2stYmVuY2gtb25seS1rZXktMzJieXRlcyE="
# The bearer token the scrape measurement sends to /metrics (bench/scrape.py).
BENCH_METRICS_TOKEN = "certdesk-bench-metrics-token-0123456789"  # noqa: S105 - the bench's own


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL


def configure(var_dir: Path) -> None:
    """Set every variable config.settings reads that could change a figure.

    Set unconditionally (not ``setdefault``): a developer's shell or ``.env`` must not turn the
    bench into a run against SQLite or with other reminder thresholds.
    """
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url(),
            "CELERY_BROKER_URL": redis_url(),
            "CACHE_URL": redis_url(),
            "CELERY_RESULT_BACKEND": "",
            # Django's dummy backend: the worker does all its work except talking SMTP.
            "EMAIL_URL": "dummymail://",
            "CERTDESK_ENCRYPTION_KEYS": BENCH_ENCRYPTION_KEY,
            "CERTDESK_VAR_DIR": str(var_dir),
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "CERTDESK_HTTPS": "false",
            "CERTDESK_RENEWAL_LEAD_DAYS": "30",
            "CERTDESK_REMINDER_DAYS": "30,14,7,3,1,0",
            "CERTDESK_SITE_URL": "http://127.0.0.1:8000",
            "LOG_LEVEL": "WARNING",
            "CERTDESK_METRICS_TOKEN": BENCH_METRICS_TOKEN,
            "CERTDESK_METRICS_ALLOWED_IPS": "",
        }
    )


def recreate_database() -> None:
    """Drop and create the bench database, so every run starts from the same empty state.

    Refused for a database whose name does not say "bench": a mistyped BENCH_DATABASE_URL must
    never drop real data.
    """
    url = database_url()
    name = str(conninfo_to_dict(url).get("dbname") or "")
    if "bench" not in name:
        raise SystemExit(
            f"BENCH_DATABASE_URL names the database {name!r}; the bench drops and recreates its "
            "database, so its name must contain 'bench'."
        )
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_redis() -> None:
    """Empty the bench's Redis database: no task left over from an earlier run is consumed."""
    redis.Redis.from_url(redis_url(), socket_connect_timeout=5).flushdb()


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _openssl() -> str:
    done = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "not found"


def machine() -> list[str]:
    """What the figures were measured on: they mean little without it."""
    from cryptography import __version__ as cryptography_version
    from django import get_version
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    postgres = str(row[0]) if row else "unknown"
    redis_version = redis.Redis.from_url(redis_url()).info("server").get("redis_version", "?")
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"{_cpu_model()}, {_memory()} RAM, {platform.system()} {platform.release()}",
        f"software: Python {platform.python_version()}, Django {get_version()}, "
        f"PostgreSQL {postgres}, Redis {redis_version}, cryptography {cryptography_version}, "
        f"{_openssl()}",
    ]
