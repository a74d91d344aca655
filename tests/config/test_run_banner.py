"""`make run`'s console at first start: the setup code of a fresh installation, once."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config import run

pytestmark = pytest.mark.django_db

ACCOUNT = {
    "username": "alice",
    "email": "alice@example.com",
    "password1": "a long passphrase 42",
    "password2": "a long passphrase 42",
}


def _codes(caplog: pytest.LogCaptureFixture) -> list[str]:
    prefix = "certdesk: first-run setup code: "
    messages = [record.getMessage() for record in caplog.records]
    return [m.removeprefix(prefix) for m in messages if m.startswith(prefix)]


def test_the_first_start_prints_the_setup_code_and_later_starts_say_how_to_get_one(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], client: Client
) -> None:
    """The first start logs a WARNING line with the code, which creates the first
    administrator; a second start before that issues none and names `manage.py setup_code`;
    once an administrator exists, the console says nothing of it."""
    with caplog.at_level(logging.WARNING, logger="certdesk.setup"):
        run._first_run_banner()
        first = capsys.readouterr().out
        run._first_run_banner()
        second = capsys.readouterr().out
    codes = _codes(caplog)
    assert len(codes) == 1
    assert "asks for the setup code above" in first
    assert "manage.py setup_code" in second
    assert client.post("/setup/", {**ACCOUNT, "setup_code": codes[0]}).status_code == 302
    assert User.objects.get().is_superuser
    run._first_run_banner()
    assert capsys.readouterr().out == ""
