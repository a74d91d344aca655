"""Audit events are append-only: the ORM and the admin cannot change or delete them."""

from __future__ import annotations

import io
import itertools

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from certificates.models import AppendOnlyError, AuditEvent, Environment
from certificates.services import Actor, audit_record, setup_code_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(sandbox: Environment) -> AuditEvent:
    return audit_record(actor=Actor.cli(), action="request.created", environment=sandbox)


def test_an_event_cannot_be_saved_again(event: AuditEvent) -> None:
    """Changing a field and saving raises; the stored row keeps its action."""
    event.action = "nothing.happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "request.created"


def test_events_cannot_be_updated_or_deleted_in_bulk_or_alone(event: AuditEvent) -> None:
    """QuerySet.update, QuerySet.delete and Model.delete all raise; the event remains."""
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "request.created"


def test_the_admin_shows_events_but_offers_no_change_or_delete(
    admin_client: Client, event: AuditEvent
) -> None:
    """Superusers read the audit log in the admin; its change and delete pages refuse."""
    listing = admin_client.get("/admin/certificates/auditevent/")
    assert listing.status_code == 200
    assert b"request.created" in listing.content
    delete = admin_client.post(
        f"/admin/certificates/auditevent/{event.pk}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403
    admin_client.post(f"/admin/certificates/auditevent/{event.pk}/change/", {"action": "x"})
    assert AuditEvent.objects.get(pk=event.pk).action == "request.created"


def test_the_first_administrator_is_recorded(client: Client) -> None:
    """Creating the first administrator leaves an audit event with their address."""
    client.post(
        "/setup/",
        {
            "username": "alice",
            "email": "alice@example.com",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
            "setup_code": setup_code_issue(actor=Actor.cli()),
        },
    )
    event = AuditEvent.objects.get(action="user.first_admin_created")
    assert event.actor == User.objects.get(username="alice")
    assert event.ip == "127.0.0.1"
    assert (event.origin, event.os_user) == ("browser", "")


def _record_several(sandbox: Environment, count: int = 4) -> list[AuditEvent]:
    return [
        audit_record(
            actor=Actor.cli(), action=f"test.step{n}", environment=sandbox, details={"n": n}
        )
        for n in range(count)
    ]


def test_events_are_chained_by_their_hashes(sandbox: Environment) -> None:
    """Each event names the previous event's hash; the command finds the chain whole."""
    events = _record_several(sandbox)
    for earlier, later in itertools.pairwise(events):
        assert later.previous_hash == earlier.hash
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "The audit log holds: 4 events verified." in out.getvalue()


def test_an_event_edited_with_raw_sql_is_reported(sandbox: Environment) -> None:
    """Changing a row behind certdesk's back (raw SQL) breaks its hash: reported by id."""
    events = _record_several(sandbox)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE certificates_auditevent SET actor_label = %s WHERE id = %s",
            ["someone else", events[2].pk],
        )
    err = io.StringIO()
    with pytest.raises(CommandError, match="The audit log is broken: 1 problem"):
        call_command("verify_audit_log", stderr=err)
    assert f"Broken at event #{events[2].pk}: its content" in err.getvalue()


def test_a_deleted_event_is_reported_at_the_next_one(sandbox: Environment) -> None:
    """Deleting a row with raw SQL breaks the link of the event after it."""
    events = _record_several(sandbox)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM certificates_auditevent WHERE id = %s", [events[1].pk])
    err = io.StringIO()
    with pytest.raises(CommandError, match="The audit log is broken: 1 problem"):
        call_command("verify_audit_log", stderr=err)
    assert f"Broken at event #{events[2].pk}: its link" in err.getvalue()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain(postgres: None) -> None:
    """Four threads recording at once on PostgreSQL still leave a single valid chain."""
    import threading

    barrier = threading.Barrier(4)

    def write(n: int) -> None:
        barrier.wait()
        try:
            for step in range(5):
                audit_record(actor=Actor.cli(), action=f"test.thread{n}", details={"s": step})
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "20 events verified" in out.getvalue()
