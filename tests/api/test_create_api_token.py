"""``manage.py create_api_token``: a token for a provisioning pipeline, printed once on stdout;
refusals are one line on stderr with exit status 1 (the command line's rule)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from certificates.models import ApiToken, AuditEvent, Environment
from tests.support.api import ApiClient

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("create_api_token", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def expiry(days: int = 90) -> str:
    return f"--expires={timezone.localdate() + timedelta(days=days):%Y-%m-%d}"


def test_the_token_is_printed_once_alone_on_stdout_and_works(
    person: Any, sandbox: Environment, production: Environment
) -> None:
    person("deployer", ("custodian", sandbox), ("viewer", production))
    stdout, stderr = run(
        "deployer",
        "--name=deploy-prod",
        "--environment=sandbox",
        "--environment=production",
        "--scope=read",
        "--scope=custody",
        expiry(),
    )
    secret = stdout.strip()
    assert stdout == secret + "\n"
    token = ApiToken.objects.get()
    assert token.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert "read, custody in sandbox, production" in stderr
    assert "Shown once" in stderr
    assert secret not in stderr
    response = ApiClient(secret).get("/environments")
    assert [(e["slug"], e["scopes"]) for e in response.json()] == [
        ("sandbox", ["read", "custody"]),
        ("production", ["read"]),
    ]
    event = AuditEvent.objects.get(action="api_token.created")
    assert (event.actor_label, event.origin) == ("cli", "cli")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nobody", "--name=x", "--environment=sandbox", "--scope=read"], "no certdesk user"),
        (["alice", "--name=x", "--scope=read"], "at least one --environment"),
        (["alice", "--name=x", "--environment=staging", "--scope=read"], "Unknown environment"),
        (["alice", "--name=x", "--environment=sandbox", "--scope=custody"], "do not allow"),
        (["alice", "--name=x", "--environment=sandbox", "--scope=root"], "Unknown scope root"),
    ],
)
def test_refusals_are_one_line(
    person: Any, sandbox: Environment, args: list[str], words: str
) -> None:
    person("alice", ("viewer", sandbox))
    with pytest.raises(CommandError) as refused:
        run(*args, expiry())
    message = str(refused.value)
    assert "\n" not in message
    assert words in message
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(("value", "words"), [("2027-13-01", "YYYY-MM-DD"), ("soon", "YYYY-MM-DD")])
def test_a_bad_date_is_refused(person: Any, sandbox: Environment, value: str, words: str) -> None:
    person("alice", ("viewer", sandbox))
    with pytest.raises(CommandError, match=words):
        run("alice", "--name=x", "--environment=sandbox", "--scope=read", f"--expires={value}")


def test_a_date_beyond_a_year_is_refused(person: Any, sandbox: Environment) -> None:
    person("alice", ("viewer", sandbox))
    with pytest.raises(CommandError, match="a year at most"):
        run("alice", "--name=x", "--environment=sandbox", "--scope=read", expiry(400))


def test_with_user_only_oneself_or_an_administrator(
    person: Any, sandbox: Environment, admin_user: User
) -> None:
    person("alice", ("viewer", sandbox))
    person("bob", ("viewer", sandbox))
    base = ["alice", "--environment=sandbox", "--scope=read", expiry()]
    with pytest.raises(CommandError, match="only make API tokens for yourself"):
        run(*base, "--name=by-bob", "--user=bob")
    run(*base, "--name=by-alice", "--user=alice")
    run(*base, "--name=by-admin", "--user=admin")
    labels = set(
        AuditEvent.objects.filter(action="api_token.created").values_list("actor_label", flat=True)
    )
    assert labels == {"alice", "admin"}
