"""``manage.py invite_user EMAIL [--environment SLUG --role ROLE]...`` (issue 15): the page's
service from the command line. It prints where the email went and until when the link works,
never the link; a refusal is one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import load_command_class
from django.db import connections
from django.utils import timezone

from certificates.models import AuditEvent, Environment, Invitation, Membership
from certificates.services.invitations import expiry_text
from tests.support.commands import Finished, assert_one_line_refusal, run
from tests.support.factories import member
from tests.support.invitations import invitation_emails, token_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_from_argv closes every connection when the command ends, as a process would; the
    test's transaction lives on one of them."""
    monkeypatch.setattr(connections, "close_all", lambda: None)


def manage(capsys: pytest.CaptureFixture[str], *args: str) -> Finished:
    """Run the command as ``manage.py invite_user args`` would, exit status and all."""
    command = load_command_class("certificates", "invite_user")
    try:
        command.run_from_argv(["manage.py", "invite_user", *args])
    except SystemExit as leaving:
        code = int(leaving.code or 0)
    else:
        code = 0
    out = capsys.readouterr()
    return Finished(code, out.out, out.err)


def test_invite_with_roles_prints_where_the_email_went(
    sandbox: Environment, production: Environment
) -> None:
    output = run(
        "invite_user",
        "Alice@Acme.example",
        "--environment",
        "production",
        "--role",
        "custodian",
        "--environment",
        "sandbox",
        "--role",
        "viewer",
    )
    invitation = Invitation.objects.get()
    assert output.stdout.strip() == (
        "Invitation sent to alice@acme.example (Custodian in Production, Viewer in Sandbox); "
        f"the link expires {expiry_text(invitation.expires_at)}."
    )
    [message] = invitation_emails()
    assert token_in(message) not in output.stdout + output.stderr
    alice = User.objects.get(username="alice@acme.example")
    assert dict(Membership.objects.filter(user=alice).values_list("environment__slug", "role")) == {
        "production": "custodian",
        "sandbox": "viewer",
    }
    event = AuditEvent.objects.get(action="account.invited")
    assert (event.actor_label, event.origin) == ("cli", "cli")
    assert event.os_user


def test_invite_without_a_role(sandbox: Environment) -> None:
    output = run("invite_user", "bob@acme.example", "--first-name", "Bob")
    assert output.stdout.startswith("Invitation sent to bob@acme.example (no role yet); the link")
    assert User.objects.get(username="bob@acme.example").first_name == "Bob"
    assert not Membership.objects.exists()


def test_the_expiry_printed_is_72_hours_away(sandbox: Environment) -> None:
    output = run("invite_user", "bob@acme.example")
    expected = expiry_text(timezone.now() + timedelta(hours=72))
    # Within the same minute, or the next one if the minute turned meanwhile.
    assert expected[:-6] in output.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["a@acme.example", "--environment", "sandbox"],
            "Give one --role for each --environment (got 1 environment(s) and 0 role(s))",
        ),
        (["a@acme.example", "--role", "viewer"], "Give one --role for each --environment"),
        (
            ["a@acme.example", "--environment", "sandbox", "--role", "owner"],
            "Unknown role 'owner' for sandbox. Choose one of: viewer, requester, custodian.",
        ),
        (
            ["a@acme.example", "--environment", "staging", "--role", "viewer"],
            "Unknown environment 'staging'. Valid environments:",
        ),
        (["not an address"], "'not an address' is not an email address."),
        (
            [
                "a@acme.example",
                *("--environment", "sandbox", "--role", "viewer"),
                *("--environment", "sandbox", "--role", "custodian"),
            ],
            "Sandbox is given twice",
        ),
    ],
)
def test_a_refusal_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
    sandbox: Environment,
    args: list[str],
    expected: str,
) -> None:
    result = manage(capsys, *args)
    assert result.returncode == 1
    assert_one_line_refusal(result, expected)
    assert not User.objects.exists()
    assert mail.outbox == []


def test_an_address_in_use_is_refused_naming_whose(
    capsys: pytest.CaptureFixture[str], sandbox: Environment
) -> None:
    User.objects.create_user("carol", "carol@acme.example", "a long passphrase 42")
    result = manage(capsys, "carol@acme.example")
    assert_one_line_refusal(result, "already carol's address")


def test_only_administrators_may_run_it(
    capsys: pytest.CaptureFixture[str], sandbox: Environment
) -> None:
    custodian = member("custodian", sandbox, username="prcust")
    result = manage(capsys, "eve@acme.example", "--user", custodian.username)
    assert_one_line_refusal(result, "prcust may not run invite_user")
    assert not User.objects.filter(email="eve@acme.example").exists()


def test_an_administrator_named_with_user_is_the_actor(
    capsys: pytest.CaptureFixture[str], sandbox: Environment, admin_user: User
) -> None:
    result = manage(capsys, "eve@acme.example", "--user", "admin")
    assert result.returncode == 0, result.stderr
    event = AuditEvent.objects.get(action="account.invited")
    assert (event.actor_label, event.origin) == ("admin", "cli")
    assert "admin invited you" in str(invitation_emails()[0].body)
