"""Helpers that turn environment variables into settings, kept apart so they can be tested.

Production behaviour is switched by variables (``DJANGO_ENV=production``), never by code paths
that only run in production; these helpers are what refuse an unsafe production configuration.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# Django's own deploy check (security.W009) calls a key weak below these figures.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
DEVELOPMENT_SECRET_KEY = "django-insecure-certdesk-development-key-never-use-in-production"  # noqa: S105


def secret_key_problem(value: str) -> str | None:
    """Say why ``value`` is not fit to sign production sessions, or None when it is."""
    if not value:
        return "SECRET_KEY is not set"
    if value == DEVELOPMENT_SECRET_KEY or value.startswith("django-insecure"):
        return "SECRET_KEY is the development default"
    if len(value) < SECRET_KEY_MIN_LENGTH:
        return f"SECRET_KEY is {len(value)} characters; use at least {SECRET_KEY_MIN_LENGTH}"
    if len(set(value)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return "SECRET_KEY uses too few distinct characters"
    return None


def audit_key_problem(value: str) -> str | None:
    """Say why ``value`` cannot key the audit chain's HMAC, or None when it can."""
    from certificates.auditchain import AuditKeyError, decode_key

    try:
        decode_key(value)
    except AuditKeyError as error:
        return str(error)
    return None


def refuse_unsafe_production(
    *, secret_key: str, debug: bool, encryption_keys: list[str], audit_key: str = ""
) -> None:
    """Stop a production process before it serves anything with an unsafe configuration."""
    problems: list[str] = []
    if problem := secret_key_problem(secret_key):
        problems.append(
            f"{problem} (generate one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(64))')"
        )
    if debug:
        problems.append("DEBUG is on; set DEBUG=false")
    if not encryption_keys:
        problems.append(
            "CERTDESK_ENCRYPTION_KEYS is not set; private keys cannot be stored without it "
            "(generate one with: python -c 'import base64, secrets; "
            "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')"
        )
    if problem := audit_key_problem(audit_key):
        problems.append(
            f"{problem}; it keys the audit log's chain and must be kept apart from the database "
            "(generate one with: python -c 'import base64, secrets; "
            "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')"
        )
    if problems:
        raise ImproperlyConfigured(
            "certdesk refuses to start with DJANGO_ENV=production: " + "; ".join(problems) + "."
        )


def new_encryption_key() -> str:
    """A fresh 256-bit key, written the way CERTDESK_ENCRYPTION_KEYS expects it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def development_encryption_key(path: Path) -> str:
    """Read the laptop key file, creating it once so ``make run`` needs nothing set.

    O_EXCL makes the web, worker and beat processes, which start together, agree on one key.
    """
    return _development_key_file(
        path,
        f"certdesk: created the encryption key for private keys at {path}. Back it up apart "
        "from the database: without it the stored private keys cannot be read.",
    )


def development_audit_key(path: Path) -> str:
    """The laptop's CERTDESK_AUDIT_KEY, kept in ``path`` (``var/audit.key``), made once."""
    return _development_key_file(
        path,
        f"certdesk: created the audit log key at {path}. Keep it apart from the database: "
        "without it the audit log cannot be verified.",
    )


def _development_key_file(path: Path, announcement: str) -> str:
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_encryption_key()
    # Written aside then linked into place: the web, worker and beat processes start together,
    # and link() lets exactly one of them win while the others read a complete file.
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    finally:
        draft.unlink()
    print(announcement, file=sys.stderr)
    return key


# The embedded default keeps sessions and password hashes (db.sqlite3 and its -wal/-shm), the
# key that encrypts private keys, queued emails and the broker's messages under var/: all of it
# for the owner only. Folders 0700, files 0600; the folder alone already keeps others out of
# anything a library later creates in it with the process umask.
PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _keep_to_owner(path: Path) -> None:
    """Drop the group and other bits of ``path`` if this process owns it; never follow links."""
    try:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode) or status.st_uid != os.geteuid():
            return
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except FileNotFoundError:
        # Removed meanwhile by another process (a mail file read, a broker message consumed).
        return


def private_folder(path: Path) -> Path:
    """Create ``path`` (and its missing parents) for the owner only, or tighten it."""
    # mkdir(parents=True) would create the parents with the umask: each one is made here.
    missing = [folder for folder in (*reversed(path.parents), path) if not folder.exists()]
    for folder in missing:
        folder.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)
    _keep_to_owner(path)
    return path


def private_var_dir(var_dir: Path) -> Path:
    """Create var/ for the owner only and tighten everything already in it.

    Installs made before this rule have a world-readable database, WAL and mail files; each
    process start fixes them (files this process does not own are left alone).
    """
    private_folder(var_dir)
    for root, folders, files in os.walk(var_dir):
        for name in (*folders, *files):
            _keep_to_owner(Path(root, name))
    return var_dir


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite database empty and owner-only before SQLite creates it with the umask.

    SQLite gives the -wal and -shm files it creates the permissions of the database file, so
    they are owner-only too; existing ones are tightened here. An empty file is a valid new
    database for SQLite and for ``migrate``.
    """
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    os.close(os.open(path, flags, PRIVATE_FILE_MODE))
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _keep_to_owner(companion)


def prepare_private_files(settings: Any) -> None:
    """Create and tighten what the settings name on this host: var/, the SQLite database, the
    mail folder and the file-system broker's folders, owner-only.

    Called when Django starts (``CertificatesConfig.ready``), not when the settings are
    imported: the settings only declare paths, so a linter, a type checker or a deploy check
    that imports them writes nothing.
    """
    private_var_dir(Path(settings.VAR_DIR))
    for folder in settings.CERTDESK_PRIVATE_FOLDERS:
        private_folder(Path(folder))
    sqlite_file = settings.CERTDESK_PRIVATE_SQLITE_FILE
    if sqlite_file and Path(sqlite_file).parent.is_dir():
        private_sqlite_file(Path(sqlite_file))
