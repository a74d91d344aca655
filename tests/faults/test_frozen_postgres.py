"""A frozen PostgreSQL: /healthz answers 503 and list_certificates exits 3, neither hangs
(issue 13, point 4: they took 31 s and forever).

The cluster is the test's own (initdb in a temporary folder, a spare port); freezing is
SIGSTOP of its postmaster and backends, by pid. certdesk runs its production settings in child
processes that the test kills, and fails on, if they do not end.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from drill.stack import PostgresCluster

pytestmark = pytest.mark.slow


def test_healthz_503_and_list_certificates_exit_3_while_postgresql_is_frozen(
    own_postgres: PostgresCluster,
    probe: Callable[..., dict[str, Any]],
    manage: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """Before the freeze the database is ok; frozen, /healthz is 503 with the database down and
    list_certificates exits 3 ("cannot be read"), not 1 or 2 (which monitoring reads as
    certificates to renew) and not never."""
    variables = {
        "DATABASE_URL": own_postgres.url,
        "CERTDESK_DB_CONNECT_TIMEOUT_SECONDS": "2",
        "CERTDESK_HEALTH_TIMEOUT_SECONDS": "1",
    }
    before = probe("healthz", **variables)["healthz"]["value"]
    assert before["body"]["database"] == "ok"

    own_postgres.freeze()
    frozen = probe("healthz", **variables)["healthz"]["value"]
    assert frozen["status"] == 503
    assert frozen["body"]["database"] == "down"
    assert frozen["body"]["problems"]["database"] == "no answer within 1 s"

    listed = manage("list_certificates", **variables)
    assert listed.returncode == 3, listed.stderr
    assert "cannot be read from the database" in listed.stderr
    assert "Traceback" not in listed.stderr
