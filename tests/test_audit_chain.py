"""The audit chain holds against someone who can write the database but lacks CERTDESK_AUDIT_KEY;
signed checkpoints detect truncation; every event says where it came from (issue 12, 2 to 4)."""

from __future__ import annotations

import io
import logging
import os
import pwd
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import Client

from certificates import auditchain, tasks
from certificates.models import AuditEvent, Environment, OutboundEmail
from certificates.services import Actor, audit_record
from certificates.services.audit import audit_checkpoint_sign
from certificates.services.audit_checkpoint import audit_checkpoint_export

pytestmark = pytest.mark.django_db


def _history(sandbox: Environment) -> list[AuditEvent]:
    """Requests, then key exports among other events: eight in all, three of them exports."""
    actions = [
        "request.created",
        "request.sent",
        "key.exported",
        "certificate.uploaded",
        "key.exported",
        "request.created",
        "key.exported",
        "certificate.exported",
    ]
    return [
        audit_record(actor=Actor.cli(), action=action, environment=sandbox, details={"n": n})
        for n, action in enumerate(actions)
    ]


def verify(*args: str) -> tuple[int, str, str]:
    """Run verify_audit_log; its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit_log", *args, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue() + str(error)
    return 0, out.getvalue(), err.getvalue()


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


# --- point 2: truncation, rewriting, every break ----------------------------------------------


def test_deleting_the_newest_events_is_detected_with_the_checkpoint(sandbox: Environment) -> None:
    """Every event from the first key export onward deleted with raw SQL: the remaining links
    still verify on their own, but the latest checkpoint says the log was longer."""
    events = _history(sandbox)
    checkpoint = audit_checkpoint_sign()
    first_export = next(e for e in events if e.action == "key.exported")
    _sql("DELETE FROM certificates_auditevent WHERE id >= %s", [first_export.pk])

    assert verify()[0] == 0  # what the chain alone cannot see
    status, _, err = verify("--checkpoint", checkpoint.text)
    assert status == 1
    assert "the log holds 2 events but the checkpoint" in err
    assert "counted 8: 6 or more were deleted (truncation)" in err


def test_truncation_then_new_events_is_detected_at_the_checkpoint_position(
    sandbox: Environment,
) -> None:
    """Deleting the newest events and recording as many new ones (so the count matches): the
    event at the checkpoint's position does not carry its head."""
    events = _history(sandbox)
    checkpoint = audit_checkpoint_sign()
    _sql("DELETE FROM certificates_auditevent WHERE id >= %s", [events[5].pk])
    for n in range(3):
        audit_record(actor=Actor.cli(), action="request.created", details={"again": n})
    assert AuditEvent.objects.count() == checkpoint.count
    status, _, err = verify("--checkpoint", checkpoint.text)
    assert status == 1
    assert "it is event number 8 but does not carry the head of the checkpoint" in err


def test_rewriting_the_actor_of_every_key_export_and_rehashing_is_detected(
    sandbox: Environment,
) -> None:
    """The attack that passed before: rewrite the actor of each key export, then recompute the
    whole chain with plain SHA-256. Without the key, every recomputed event fails its HMAC, and
    each is reported, not only the first."""
    events = _history(sandbox)
    exports = [e.pk for e in events if e.action == "key.exported"]
    _sql(
        "UPDATE certificates_auditevent SET actor_label = %s WHERE action = %s",
        ["nobody", "key.exported"],
    )
    previous = auditchain.GENESIS_HASH
    for event in AuditEvent.objects.order_by("id"):
        # Exactly what the verifier accepted before issue 12: plain SHA-256 of public fields.
        event.previous_hash = previous
        new = auditchain.legacy_sha256_hash_of(event)
        _sql(
            "UPDATE certificates_auditevent SET previous_hash = %s, hash = %s WHERE id = %s",
            [previous, new, event.pk],
        )
        previous = new

    status, _, err = verify()
    assert status == 1
    assert "its link" not in err  # the links were recomputed consistently...
    for event in events:  # ...but no event verifies under the key
        assert f"Broken at event #{event.pk}: its content does not match its HMAC" in err
    assert all(f"#{pk}: its content" in err for pk in exports)
    assert "8 problems in 8 events" in err
    assert "if CERTDESK_AUDIT_KEY was changed" in err


def test_several_broken_links_are_all_reported(sandbox: Environment) -> None:
    """Two events altered and one deleted in different places: three reports, each at its
    event, and the events between them are not blamed."""
    events = _history(sandbox)
    _sql(
        "UPDATE certificates_auditevent SET actor_label = 'x' WHERE id IN (%s, %s)",
        [events[1].pk, events[6].pk],
    )
    _sql("DELETE FROM certificates_auditevent WHERE id = %s", [events[3].pk])
    status, _, err = verify()
    assert status == 1
    assert f"Broken at event #{events[1].pk}: its content" in err
    assert f"Broken at event #{events[4].pk}: its link" in err
    assert f"Broken at event #{events[6].pk}: its content" in err
    assert err.count("Broken at") == 3
    assert "3 problems in 7 events" in err


def test_an_event_written_under_another_key_is_reported(
    sandbox: Environment, settings: Any
) -> None:
    """An event recorded with a different CERTDESK_AUDIT_KEY (a database copied between two
    installations, a forger guessing) does not verify under this one."""
    _history(sandbox)
    settings.CERTDESK_AUDIT_KEY = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMzI="
    forged = audit_record(actor=Actor.cli(), action="key.exported", environment=sandbox)
    settings.CERTDESK_AUDIT_KEY = "Y2VydGRlc2stdGVzdHMtb25seS1hdWRpdC1rZXktMzJi"
    status, _, err = verify()
    assert status == 1
    assert f"Broken at event #{forged.pk}: its content" in err


# --- checkpoints ------------------------------------------------------------------------------


def test_an_intact_log_verifies_against_its_checkpoint_pasted_or_in_a_file(
    sandbox: Environment, tmp_path: Path
) -> None:
    """The checkpoint line pasted, or the file of the email that carried it: both verify, and
    events recorded after the checkpoint are fine."""
    _history(sandbox)
    checkpoint = audit_checkpoint_sign()
    audit_record(actor=Actor.cli(), action="request.created", environment=sandbox)
    status, out, _ = verify("--checkpoint", checkpoint.text)
    assert status == 0
    assert "The audit log holds: 9 events verified, 8 of them up to the checkpoint" in out
    mail = tmp_path / "checkpoint.eml"
    mail.write_text(
        f"Subject: older\n\n{auditchain.CHECKPOINT_PREFIX} v1 junk\n{checkpoint.text}\n"
    )
    assert verify("--checkpoint", str(mail))[0] == 0


def test_a_forged_checkpoint_is_refused(sandbox: Environment) -> None:
    """A checkpoint whose count was lowered to hide a deletion does not verify: exit 1, and
    nothing is checked against it."""
    events = _history(sandbox)
    checkpoint = audit_checkpoint_sign()
    _sql("DELETE FROM certificates_auditevent WHERE id >= %s", [events[6].pk])
    lowered = checkpoint.text.replace("count=8", "count=6").replace(
        f"head={checkpoint.head}", f"head={events[5].hash}"
    )
    status, _, err = verify("--checkpoint", lowered)
    assert status == 1
    assert "The checkpoint's signature does not verify" in err


@pytest.mark.parametrize("given", ["no checkpoint here", "/nonexistent/checkpoint.txt"])
def test_an_unreadable_checkpoint_exits_2(sandbox: Environment, given: str) -> None:
    """Text without a checkpoint, or a missing file: one clear line, exit status 2."""
    status, _, err = verify("--checkpoint", given)
    assert status == 2
    assert "checkpoint" in err
    assert "\n" not in err.strip()


def test_an_unreadable_database_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database cannot be read (down, table missing): exit status 3, not a traceback."""
    from certificates.management.commands import verify_audit_log

    def down(**kwargs: Any) -> None:
        raise OperationalError("no such table: certificates_auditevent")

    monkeypatch.setattr(verify_audit_log, "audit_chain_verify", down)
    status, _, err = verify()
    assert status == 3
    assert "The audit log cannot be read from the database: no such table" in err


def test_the_scheduled_checkpoint_is_logged_and_emailed_to_the_administrators(
    sandbox: Environment, caplog: pytest.LogCaptureFixture
) -> None:
    """Beat's task logs the signed checkpoint and emails it to active superusers with an
    address only; an unchanged log is not emailed twice, a grown one is."""
    User.objects.create_superuser("root", "root@example.com", "x")
    User.objects.create_superuser("gone", "gone@example.com", "x", is_active=False)
    User.objects.create_superuser("noaddress", "", "x")
    User.objects.create_user("alice", "alice@example.com", "x")
    _history(sandbox)
    with caplog.at_level(logging.INFO, logger="certdesk.audit"):
        text = tasks.audit_checkpoint()
    assert f"Audit log checkpoint: {text}" in caplog.text
    checkpoint = auditchain.checkpoint_parse(text)
    assert checkpoint is not None
    assert checkpoint.count == 8
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.AUDIT_CHECKPOINT)
    assert email.to == ["root@example.com"]
    assert text in email.body_text
    assert "verify_audit_log --checkpoint" in email.body_text

    audit_checkpoint_export()
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.AUDIT_CHECKPOINT).count() == 1
    audit_record(actor=Actor.cli(), action="request.created", environment=sandbox)
    assert audit_checkpoint_export().email is not None
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.AUDIT_CHECKPOINT).count() == 2
    assert verify("--checkpoint", email.body_text)[0] == 0


def test_the_checkpoint_is_scheduled(settings: Any) -> None:
    """Beat runs the checkpoint task, hourly unless CERTDESK_AUDIT_CHECKPOINT_SECONDS says."""
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == "certificates.tasks.audit_checkpoint"
    assert entry["schedule"].total_seconds() == 3600


# --- point 3: the hash does not depend on the actor's foreign key -----------------------------


def test_deleting_a_user_does_not_break_the_chain(sandbox: Environment) -> None:
    """A deleted user's events lose actor_id (what ON DELETE SET NULL does; certdesk itself
    refuses to delete users) but keep their name, and still verify."""
    bob = User.objects.create_user("bob")
    audit_record(actor=Actor(user=bob), action="request.created", environment=sandbox)
    _history(sandbox)
    _sql("UPDATE certificates_auditevent SET actor_id = NULL WHERE actor_id = %s", [bob.pk])
    event = AuditEvent.objects.get(action="request.created", actor_label="bob")
    assert event.actor_id is None
    assert verify()[0] == 0


# --- point 4: origin and operating-system user -------------------------------------------------


def test_the_command_line_records_cli_and_the_os_login(
    sandbox: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command run with --user is recorded as that user, from the command line, with the OS
    account of the process, which $USER and $LOGNAME cannot fake."""
    User.objects.create_superuser("prcust", "p@example.com", "x")
    monkeypatch.setenv("USER", "someone-else")
    monkeypatch.setenv("LOGNAME", "someone-else")
    call_command(
        "create_request",
        "--environment=sandbox",
        "--purpose=mtls",
        "--country=FR",
        "--state=Brittany",
        "--locality=Rennes",
        "--organization=Acme",
        "--common-name=acme.com",
        "--email=it@acme.com",
        "--user=prcust",
        stdout=io.StringIO(),
    )
    event = AuditEvent.objects.get(action="request.created")
    login = pwd.getpwuid(os.geteuid()).pw_name
    assert (event.actor_label, event.origin, event.os_user) == ("prcust", "cli", login)


def test_the_browser_and_the_system_are_recorded_as_such(
    sandbox: Environment, admin_client: Client
) -> None:
    """An action from a browser says browser and no OS user; certdesk's own say system."""
    audit_record(actor=Actor.system(), action="email.refused")
    system = AuditEvent.objects.get(action="email.refused")
    assert (system.origin, system.os_user) == ("system", "")
    audit_record(actor=Actor.browser(user=None, ip="10.0.0.1"), action="user.login_failed")
    browser = AuditEvent.objects.get(action="user.login_failed")
    assert (browser.origin, browser.ip) == ("browser", "10.0.0.1")


def test_the_origin_is_covered_by_the_hmac(sandbox: Environment) -> None:
    """Turning a command-line event into a browser one with raw SQL breaks its link."""
    event = audit_record(actor=Actor.cli(), action="key.exported", environment=sandbox)
    _sql(
        "UPDATE certificates_auditevent SET origin = 'browser', os_user = '' WHERE id = %s",
        [event.pk],
    )
    status, _, err = verify()
    assert status == 1
    assert f"Broken at event #{event.pk}: its content" in err


def test_the_audit_page_shows_where_each_action_came_from(
    sandbox: Environment, admin_client: Client
) -> None:
    """The administrator reads "Command line (OS user ...)", "Browser" and "System"."""
    audit_record(actor=Actor.cli(), action="key.exported", environment=sandbox)
    audit_record(actor=Actor.system(), action="email.refused")
    page = admin_client.get("/audit/").content.decode()
    login = pwd.getpwuid(os.geteuid()).pw_name
    assert "Command line <span" in page
    assert f"(OS user <code>{login}</code>)" in page
    assert "System (worker, scheduler)" in page
    assert '<th scope="col">From</th>' in page
