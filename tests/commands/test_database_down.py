"""Honest exit codes when the database cannot be read (issue 13, point 5): the monitoring and
maintenance commands exit 3 with one line that says so, never a traceback with 1 (which
verify_audit_log reads as "chain broken" and list_certificates as "renewal due")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.brokers import spare_port

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("verify_audit_log", "The audit log cannot be read from the database"),
        ("list_certificates", "The certificates cannot be read from the database"),
        ("send_reminders", "The database cannot be read, so the scan stopped"),
    ],
)
def test_a_database_that_refuses_connections_exits_3_in_one_line(
    command: str, says: str, tmp_path: Path
) -> None:
    """PostgreSQL down (nobody listens on its port): exit status 3, one line on stderr naming
    what could not be read, no traceback."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://certdesk@127.0.0.1:{spare_port()}/certdesk",
        "CERTDESK_VAR_DIR": str(tmp_path),
        "CERTDESK_AUDIT_KEY": "Y2VydGRlc2stdGVzdHMtb25seS1hdWRpdC1rZXktMzJi",
        "CERTDESK_ENCRYPTION_KEYS": "Y2VydGRlc2stdGVzdHMtb25seS1rZXktMzJieXRlcyE=",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert says in line
    assert "Connection refused" in line
    assert "Traceback" not in result.stderr
