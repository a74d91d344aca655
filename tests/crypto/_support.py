"""Helpers shared by the crypto tests: running the real `openssl`, and a standard subject."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from certificates import crypto

OPENSSL = shutil.which("openssl")

ACME = crypto.Subject(
    country="FR",
    state="Brittany",
    locality="Rennes",
    organization="Acme",
    organizational_unit="IT",
    common_name="acme.com",
    email="it@acme.com",
)
# The seed's own `openssl req -subj` for the same subject, without OU.
ACME_SUBJ = "/C=FR/ST=Brittany/L=Rennes/O=Acme/CN=acme.com/emailAddress=it@acme.com"


def run_openssl(
    *args: str | Path, cwd: Path | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `openssl` (skipped when it is missing, except under CI) and return the result."""
    if OPENSSL is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI=true but the openssl command is missing", pytrace=False)
        pytest.skip("the openssl command is missing: interoperability tests need it")
    return subprocess.run(
        [OPENSSL, *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def openssl(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    """Run `openssl`, fail the test with its stderr if it fails; return stdout and stderr.

    Some commands (`pkcs12 -info`) write what tests look at on stderr, hence both.
    """
    result = run_openssl(*args, cwd=cwd, stdin=stdin)
    if result.returncode != 0:
        pytest.fail(f"openssl {' '.join(map(str, args))} failed: {result.stderr.decode()}")
    return result.stdout.decode() + result.stderr.decode()
