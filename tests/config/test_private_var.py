"""The embedded default's var/ is for its owner only (issue 12, #11).

var/ holds sessions and password hashes (db.sqlite3, its -wal and -shm), the key that encrypts
private keys, mail files and the broker's messages. Each test runs the real code path under a
permissive umask (022, the usual default) and checks that no one but the owner can read them.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import run

BASE_DIR = Path(__file__).resolve().parents[2]
USUAL_UMASK = 0o022


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def open_to_others(var_dir: Path) -> list[str]:
    """Everything under ``var_dir`` (itself included) that group or others may use."""
    paths = [var_dir, *var_dir.rglob("*")]
    return [f"{oct(mode(path))} {path}" for path in paths if mode(path) & 0o077]


def run_manage(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """manage.py with nothing but CERTDESK_VAR_DIR set (the embedded default), umask 022."""
    env = {
        "PATH": os.environ["PATH"],
        "CERTDESK_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    shell = ["/bin/sh", "-c", f'umask {USUAL_UMASK:03o}; exec "$@"', "sh"]
    return subprocess.run(
        [*shell, sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """This process's umask is 022 during the test, as on most machines."""
    previous = os.umask(USUAL_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.slow
def test_migrate_creates_var_and_the_database_for_the_owner_only(
    tmp_path: Path, usual_umask: None
) -> None:
    """A first `migrate` leaves var/, db.sqlite3, the audit key file and the broker folders
    0700/0600, and the WAL and shared-memory files SQLite adds later are 0600 too."""
    var_dir = tmp_path / "var"
    result = run_manage(var_dir, "migrate", "--no-input", "-v0")
    assert result.returncode == 0, result.stderr
    database = var_dir / "db.sqlite3"
    assert mode(var_dir) == 0o700
    assert mode(database) == 0o600
    assert mode(var_dir / "audit.key") == 0o600  # made by the audit chain's migration
    assert mode(var_dir / "celery" / "queue") == 0o700
    assert mode(var_dir / "mail") == 0o700
    # A writer in WAL mode (web, worker, beat) makes SQLite create -wal and -shm.
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE probe (x INTEGER)")
        connection.commit()
        assert mode(var_dir / "db.sqlite3-wal") == 0o600
        assert mode(var_dir / "db.sqlite3-shm") == 0o600
    finally:
        connection.close()
    assert open_to_others(var_dir) == []


@pytest.mark.slow
def test_a_world_readable_var_from_before_is_tightened_at_start(tmp_path: Path) -> None:
    """An install made before the rule (var/ 0755, database, WAL and mail 0644) is fixed by the
    next process start, here `manage.py check`."""
    var_dir = tmp_path / "var"
    (var_dir / "mail").mkdir(parents=True)
    for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "mail/old.log"):
        (var_dir / name).write_bytes(b"")
        (var_dir / name).chmod(0o644)
    for folder in (var_dir, var_dir / "mail"):
        folder.chmod(0o755)
    result = run_manage(var_dir, "check")
    assert result.returncode == 0, result.stderr
    assert open_to_others(var_dir) == []
    assert mode(var_dir / "mail" / "old.log") == 0o600


@pytest.mark.slow
def test_a_mail_file_of_the_embedded_default_is_owner_only(tmp_path: Path) -> None:
    """An email written by the embedded default's file backend is 0600 in a 0700 folder."""
    var_dir = tmp_path / "var"
    result = run_manage(var_dir, "sendtestemail", "alice@example.com")
    assert result.returncode == 0, result.stderr
    [mail] = (var_dir / "mail").iterdir()
    assert "To: alice@example.com" in mail.read_text()
    assert mode(mail) == 0o600
    assert mode(var_dir / "mail") == 0o700


def test_private_file_backend_writes_owner_only_files(tmp_path: Path, usual_umask: None) -> None:
    """The backend itself creates its folder 0700 and each file 0600, whatever the umask."""
    from django.core.mail import EmailMessage

    from config.mailfiles import PrivateFileEmailBackend

    folder = tmp_path / "mail"
    backend = PrivateFileEmailBackend(file_path=str(folder))
    sent = backend.send_messages(
        [EmailMessage("Hello", "Body", "a@example.com", ["b@example.com"])]
    )
    assert sent == 1
    [mail] = folder.iterdir()
    assert "Subject: Hello" in mail.read_text()
    assert (mode(folder), mode(mail)) == (0o700, 0o600)


@pytest.mark.django_db  # its banner asks whether anyone can log in yet
def test_make_run_starts_web_worker_and_beat_with_a_private_umask(
    monkeypatch: pytest.MonkeyPatch, usual_umask: None
) -> None:
    """`make run` gives its three processes umask 077, so the broker's messages, beat's schedule
    and anything else they create under var/ is owner-only."""
    seen: dict[str, int] = {}

    class ExitedChild:
        returncode = 0

        def __init__(self, command: list[str]) -> None:
            current = os.umask(0)
            os.umask(current)
            seen[" ".join(command[-3:])] = current

        def poll(self) -> int:
            return 0

        def wait(self, timeout: float | None = None) -> int:
            return 0

        def terminate(self) -> None: ...

        def kill(self) -> None: ...

    monkeypatch.setattr(subprocess, "Popen", ExitedChild)
    cwd = Path.cwd()
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        run.main()
    finally:
        os.chdir(cwd)
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert len(seen) == 3
    assert set(seen.values()) == {0o077}
