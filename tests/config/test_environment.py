"""Production refuses an unsafe configuration; the embedded default needs nothing set."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config.environment import development_encryption_key, secret_key_problem
from tests.support.manage import BASE_DIR, PRODUCTION, STRONG_SECRET, run_manage


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "short-secret"}, "SECRET_KEY is 12 characters"),
        ({"SECRET_KEY": "django-insecure-" + STRONG_SECRET}, "SECRET_KEY is the development"),
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"CERTDESK_ENCRYPTION_KEYS": ""}, "CERTDESK_ENCRYPTION_KEYS is not set"),
        ({"CERTDESK_AUDIT_KEY": ""}, "CERTDESK_AUDIT_KEY is not set"),
        ({"CERTDESK_AUDIT_KEY": "c2hvcnQ="}, "CERTDESK_AUDIT_KEY holds 5 bytes"),
    ],
)
def test_production_refuses_to_start_and_names_the_variable(
    tmp_path: Path, change: dict[str, str], named: str
) -> None:
    """A production process with a missing or weak secret, DEBUG on or no keys does not start."""
    result = run_manage(tmp_path, "check", **{**PRODUCTION, **change})
    assert result.returncode != 0
    assert "certdesk refuses to start with DJANGO_ENV=production" in result.stderr
    assert named in result.stderr


@pytest.mark.slow
def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    """With production variables set, Django's deploy check finds not even a warning."""
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_embedded_default_works_with_nothing_set(tmp_path: Path) -> None:
    """With no variable at all, migrate runs on SQLite under var/; the audit key it needs (the
    chain's migration) is made once, the encryption key not before a private key is stored."""
    result = run_manage(tmp_path, "migrate", "--no-input")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "db.sqlite3").exists()
    assert "created the audit log key" in result.stderr
    assert not (tmp_path / "encryption.key").exists()
    again = run_manage(tmp_path, "migrate", "--no-input")
    assert again.returncode == 0
    assert "created the" not in again.stderr


@pytest.mark.slow
def test_importing_the_settings_writes_nothing(tmp_path: Path) -> None:
    """Importing config.settings with nothing set only names the laptop's key files (it used to
    write var/encryption.key and var/audit.key): they are made by the first process that needs
    them, not by every import of the settings (a test, a linter, a deploy check)."""
    clean = {"PATH": os.environ["PATH"], "CERTDESK_VAR_DIR": str(tmp_path)}
    script = (
        "import config.settings as s;"
        "print(s.CERTDESK_ENCRYPTION_KEYS, s.CERTDESK_AUDIT_KEY == '',"
        " s.CERTDESK_ENCRYPTION_KEY_FILE.name, s.CERTDESK_AUDIT_KEY_FILE.name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "True", "encryption.key", "audit.key"]
    assert "created the" not in result.stderr
    assert not (tmp_path / "encryption.key").exists()
    # Nothing at all: no key, no folder, no database file (Django's start creates those).
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path / "audit.key").exists()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "SECRET_KEY is not set"),
        ("abc", "SECRET_KEY is 3 characters; use at least 50"),
        ("ab" * 40, "SECRET_KEY uses too few distinct characters"),
        (STRONG_SECRET, None),
    ],
)
def test_secret_key_problem(value: str, problem: str | None) -> None:
    """Weak secrets are named by what is wrong with them, as Django's deploy check judges."""
    assert secret_key_problem(value) == problem


def test_development_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    """The laptop key is 32 random bytes, readable by its owner only, and reused afterwards."""
    path = tmp_path / "var" / "encryption.key"
    first = development_encryption_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert development_encryption_key(path) == first
    import base64

    assert len(base64.urlsafe_b64decode(first)) == 32
    assert list(path.parent.iterdir()) == [path]


def test_every_variable_the_settings_read_is_documented_in_env_example() -> None:
    """An operator finds each variable certdesk reads in .env.example, with its explanation."""
    import re

    settings_source = (BASE_DIR / "config" / "settings.py").read_text()
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", settings_source))
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.M)
    )
    assert read, "the pattern found no variable: the test would prove nothing"
    assert read - documented == set()


@pytest.mark.slow
def test_embedded_default_writes_mail_where_the_readme_says(tmp_path: Path) -> None:
    """With nothing set, emails are files under var/mail/, an absolute path, whatever the
    working directory (a relative one would scatter mail under wherever a process started)."""
    result = run_manage(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_FILE_PATH)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "mail")


def test_development_audit_key_is_created_once_apart_and_private(tmp_path: Path) -> None:
    """The laptop's audit key is its own file (not the encryption key), 0600, reused after."""
    from certificates.auditchain import decode_key
    from config.environment import development_audit_key

    path = tmp_path / "var" / "audit.key"
    first = development_audit_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert development_audit_key(path) == first
    assert len(decode_key(first)) == 32
    assert first != development_encryption_key(tmp_path / "var" / "encryption.key")
