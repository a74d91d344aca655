"""manage.py setup_code: a new first-run setup code for the operator, while no user exists."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.test import Client

from tests.support.commands import run

pytestmark = pytest.mark.django_db

ACCOUNT = {
    "username": "alice",
    "email": "alice@example.com",
    "password1": "a long passphrase 42",
    "password2": "a long passphrase 42",
}
PREFIX = "certdesk: first-run setup code: "


def _code(stdout: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith(PREFIX))
    return line.removeprefix(PREFIX)


def test_the_printed_code_opens_the_first_run_page_and_the_previous_one_stops(
    client: Client,
) -> None:
    """Each run prints a fresh code and says the earlier one no longer works; only the last
    printed code creates the first administrator."""
    first = run("setup_code")
    second = run("setup_code")
    assert "any earlier code no longer works" in second.stdout
    old, new = _code(first.stdout), _code(second.stdout)
    assert old != new
    refused = client.post("/setup/", {**ACCOUNT, "setup_code": old})
    assert refused.status_code == 200
    assert not User.objects.exists()
    assert client.post("/setup/", {**ACCOUNT, "setup_code": new}).status_code == 302
    assert User.objects.get().is_superuser


def test_once_an_administrator_exists_no_code_is_issued(admin_user: User) -> None:
    """After the first run the command refuses with one line saying why, and prints no code."""
    with pytest.raises(CommandError, match="set up already"):
        run("setup_code")


def test_a_container_start_prints_the_code_once_in_its_log(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """`setup_code --if-needed` (docker/entrypoint.sh, before gunicorn) logs a code on a fresh
    installation, keeps it on the next start (restarts must not invalidate what the operator
    read), and that code opens the first-run page; once set up, it does nothing."""
    with caplog.at_level("WARNING", logger="certdesk.setup"):
        run("setup_code", "--if-needed")
    (line,) = [r.getMessage() for r in caplog.records if PREFIX in r.getMessage()]
    code = line.split(PREFIX, 1)[1].strip()
    caplog.clear()
    again = run("setup_code", "--if-needed")
    assert "a setup code was issued already" in again.stdout
    assert not [r for r in caplog.records if PREFIX in r.getMessage()]
    assert client.post("/setup/", {**ACCOUNT, "setup_code": code}).status_code == 302
    done = run("setup_code", "--if-needed")
    assert done.stdout == ""
