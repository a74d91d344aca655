"""Issue 12, point 9: a destroyed key cannot be recovered from the SQLite files on this host.

Each test runs certdesk in a subprocess on a file-based SQLite database in a temporary
directory (the suite's own database is in memory), destroys a key the way a user does, and then
searches ``db.sqlite3`` and ``db.sqlite3-wal`` for the encrypted blob's bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]

SETUP = """
import sys
import django

django.setup()
from django.core.management import call_command
from django.db import connection

call_command("migrate", verbosity=0)
from certificates import crypto, services
from certificates.models import Environment, Key
from certificates.services import Actor
from tests.support.subjects import ACME as SUBJECT

CLI = Actor.cli()
sandbox = Environment.objects.get(slug="sandbox")
request = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=SUBJECT)
key = Key.objects.get(pk=request.key_id)
blob = bytes(key.encrypted_private_key)
# Many writes after it, as a running server makes, so the key's page is well behind the head.
for _ in range(20):
    services.request_create(actor=CLI, environment=sandbox, purpose="signature", subject=SUBJECT)
open(sys.argv[1], "wb").write(blob)
"""

# Copies the files while certdesk still has them open, as a running server does: closing the
# last connection would checkpoint and delete the log by itself and hide what is in it.
SNAPSHOT = """
import shutil
from pathlib import Path

snapshot = Path(sys.argv[2])
snapshot.mkdir()
for path in Path(connection.settings_dict["NAME"]).parent.glob("db.sqlite3*"):
    shutil.copy(path, snapshot / path.name)
"""

DESTROY_BY_CANCEL = """
services.request_cancel(actor=CLI, signing_request=request, reason="not needed after all")
"""

DESTROY_AFTER_COMPROMISE = """
from datetime import date
from certificates.services.keys import key_destroy
from certificates.services.revocations import revocation_report_compromise
from tests.support.environments import trusting
from tests.support.testca import LocalCA

ca = LocalCA.create()
trusting(sandbox, ca)
pem = crypto.certificate_to_pem(ca.sign(crypto.parse_csr(request.csr_pem.encode("ascii"))))
certificate = services.certificate_upload(actor=CLI, data=pem).certificate
revocation_report_compromise(
    actor=CLI, certificate=certificate, suspected_since=date.today(), note=""
)
key_destroy(actor=CLI, key=Key.objects.get(pk=request.key_id))
"""


def _run_destroying(tmp_path: Path, destroy: str) -> bytes:
    """Run SETUP then ``destroy`` in a fresh process; return the blob the key had. The files
    as they were before the process ended are in ``tmp_path / "snapshot"``."""
    blob_file = tmp_path / "blob"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CERTDESK_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SETUP + destroy + SNAPSHOT,
            str(blob_file),
            str(tmp_path / "snapshot"),
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    blob = blob_file.read_bytes()
    assert len(blob) > 100
    return blob


def _files_holding(tmp_path: Path, needle: bytes) -> list[str]:
    """The SQLite files of the run, taken while it ran and after it ended, that still contain
    a 64-byte piece of ``needle``."""
    pieces = [needle[i : i + 64] for i in range(0, len(needle) - 64, 64)]
    holding = []
    files = [*tmp_path.glob("db.sqlite3*"), *(tmp_path / "snapshot").glob("db.sqlite3*")]
    assert any(path.name == "db.sqlite3-wal" for path in files)
    for path in sorted(files):
        data = path.read_bytes()
        if any(piece in data for piece in pieces):
            holding.append(str(path.relative_to(tmp_path)))
    return holding


def test_a_key_destroyed_after_a_compromise_is_in_no_sqlite_file(tmp_path: Path) -> None:
    """Report a compromise, destroy the key: no piece of its encrypted blob is left in
    db.sqlite3 or its write-ahead log (secure_delete, then a TRUNCATE checkpoint)."""
    blob = _run_destroying(tmp_path, DESTROY_AFTER_COMPROMISE)
    assert _files_holding(tmp_path, blob) == []


def test_a_key_destroyed_by_cancelling_its_request_is_in_no_sqlite_file(tmp_path: Path) -> None:
    """Cancelling a request destroys its key the same way: nothing left in the files."""
    blob = _run_destroying(tmp_path, DESTROY_BY_CANCEL)
    assert _files_holding(tmp_path, blob) == []


def test_the_search_finds_a_key_that_is_not_destroyed(tmp_path: Path) -> None:
    """The check above can fail: before destruction, the blob is found in the files."""
    blob = _run_destroying(tmp_path, "")
    assert _files_holding(tmp_path, blob) != []
