"""Audit events are append-only: the ORM and the admin cannot change or delete them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AppendOnlyError, AuditEvent, Environment
from certificates.services import Actor, audit_record

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
        },
    )
    event = AuditEvent.objects.get(action="user.first_admin_created")
    assert event.actor == User.objects.get(username="alice")
    assert event.ip == "127.0.0.1"
