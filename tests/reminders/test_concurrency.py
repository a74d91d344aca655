"""Two scans at the same moment, on PostgreSQL: the unique constraints and the row claim make
one email per reminder, whichever scan wins."""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection

from certificates.models import (
    AuditEvent,
    Environment,
    Key,
    OutboundEmail,
    Reminder,
    SigningRequest,
)
from certificates.selectors.reminders import DueReminder
from certificates.services import reminders
from certificates.services.reminders import ScanReport, expiry_scan
from tests.support.environments import migrated_environment
from tests.support.reminders import DAY, NOW, add_owners, make_certificate

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_on_postgresql_send_each_email_once(
    postgres: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads, released together by a barrier, scan the same 20 due certificates (10
    environments, both purposes; keys certdesk generated, so renewals are prepared); a second
    barrier holds both until each has planned the same rows, so both inserts race (and then
    both claim loops). 40 emails in all (TAM and 7-day reminder each), not 80, and one renewal
    request per certificate, not two."""
    environments = [migrated_environment("Sandbox")] + [
        Environment.objects.create(name=f"Env {n}", slug=f"env-{n}") for n in range(9)
    ]
    for environment in environments:
        add_owners(environment)
        for purpose in ("mtls", "signature"):
            make_certificate(
                environment,
                purpose=purpose,
                not_after=NOW + 7 * DAY,
                common_name=f"host-{environment.slug}.acme.com",
                key_source=Key.Source.GENERATED,
            )
    barrier = threading.Barrier(2)
    planned = threading.Barrier(2)
    insert = reminders.scan.reminders_insert

    def insert_together(rows: list[DueReminder]) -> None:
        planned.wait(timeout=30)  # both scans saw no reminder yet and plan the same rows
        insert(rows)

    monkeypatch.setattr(reminders.scan, "reminders_insert", insert_together)
    reports: list[ScanReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            reports.append(expiry_scan())
        except BaseException as error:  # surfaced by the assertions below
            errors.append(error)
        finally:
            connection.close()

    with time_machine.travel(NOW, tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert len(reports) == 2
    assert sum(report.count("queued") for report in reports) == 40
    assert len(mail.outbox) == 40
    assert OutboundEmail.objects.count() == 40
    assert OutboundEmail.objects.filter(status="sent").count() == 40
    assert Reminder.objects.filter(status="sent").count() == 40
    # 30 and 14 superseded by 7 for each certificate, recorded once, by one scan or the other.
    assert Reminder.objects.filter(status="skipped").count() == 40
    assert sum(report.count("skipped") for report in reports) == 40
    renewals = SigningRequest.objects.filter(renews__isnull=False)
    assert renewals.count() == 20
    assert set(renewals.values_list("status", flat=True)) == {"sent"}
    assert len({r.renews_id for r in renewals}) == 20
    assert AuditEvent.objects.filter(action="request.created").count() == 20
