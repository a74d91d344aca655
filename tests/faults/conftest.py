"""Fixtures of the fault tests: servers of their own (drill/stack.py) on spare ports, and
certdesk's production settings run against them in a child process.

Never the machine's shared PostgreSQL (5432) or Redis (6379): a test stops, refuses or freezes
only the servers it started, by process id. A child process also gives each check its guard: it
is killed, and the test fails, if it does not end within a generous bound (a hang).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.stack import PostgresCluster, RedisServer, ServiceMissing, free_port
from tests.support.availability import missing_service

BASE_DIR = Path(__file__).resolve().parents[2]
# Far above every bounded wait (a few seconds), far below "hangs for good".
GUARD_SECONDS = 60


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path / "redis").start()
    except ServiceMissing as error:
        missing_service(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster().start()
    except ServiceMissing as error:
        missing_service(str(error))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def refused_url() -> str:
    """A Redis URL on a port nothing listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


def production_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """config.settings' environment: development defaults, a private var/, these variables;
    nothing inherited but PATH (CI's DATABASE_URL and REDIS_URL point at the shared servers)."""
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_ENV": "development",
        "CERTDESK_VAR_DIR": str(tmp_path / "var"),
        "CERTDESK_ENCRYPTION_KEYS": "Y2VydGRlc2stdGVzdHMtb25seS1rZXktMzJieXRlcyE=",
        "CERTDESK_AUDIT_KEY": "Y2VydGRlc2stdGVzdHMtb25seS1hdWRpdC1rZXktMzJi",
        "LOG_LEVEL": "ERROR",
        **variables,
    }


def guarded_run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=GUARD_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(command[1:])} hung: no answer within {GUARD_SECONDS} s")


@pytest.fixture
def probe(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``probe("healthz", "cache", REDIS_URL=...)``: tests/faults/probe.py's answers."""

    def run(*actions: str, **variables: str) -> dict[str, Any]:
        completed = guarded_run(
            [sys.executable, "-m", "tests.faults.probe", *actions],
            production_env(tmp_path, **variables),
        )
        assert completed.returncode == 0, completed.stderr
        result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        return result

    return run


@pytest.fixture
def manage(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``manage("list_certificates", DATABASE_URL=...)``: the command as cron runs it."""

    def run(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
        return guarded_run(
            [sys.executable, "manage.py", *args], production_env(tmp_path, **variables)
        )

    return run
