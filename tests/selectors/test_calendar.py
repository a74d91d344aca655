"""calendar_events called directly: two events per certificate in service of the environments
the user may view (renewal window and expiry), none for a replaced, revoked or foreign one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from certificates.models import Environment, Revocation
from certificates.selectors.calendar import calendar_events
from tests.support.factories import CertificateFactory, member
from tests.support.reminders import DAY, NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lead(settings: Any) -> None:
    settings.CERTDESK_RENEWAL_LEAD_DAYS = 30
    settings.CERTDESK_SITE_URL = "https://certdesk.example.com"


def test_a_certificate_in_service_has_a_renewal_and_an_expiry_event(
    sandbox: Environment,
) -> None:
    """The renewal window opens the lead before notAfter; the expiry is notAfter's day (all-day
    events, issue 16); the UIDs name the certificate, so a calendar updates them rather than
    adding more."""
    certificate = CertificateFactory.create(
        signing_request__environment=sandbox, not_after=NOW + 100 * DAY
    )
    viewer = member("viewer", sandbox)

    renewal, expiry = calendar_events(user=viewer, now=NOW)

    assert renewal.uid == f"cert-{certificate.pk}-renewal@certdesk"
    assert renewal.day == (certificate.not_after - timedelta(days=30)).date()
    assert renewal.summary == "Renewal window opens: Sandbox mTLS acme.com"
    assert expiry.uid == f"cert-{certificate.pk}-expiry@certdesk"
    assert expiry.day == certificate.not_after.date()
    assert certificate.serial in expiry.description
    assert expiry.url.startswith("https://certdesk.example.com/requests/")


def test_replaced_revoked_and_foreign_certificates_have_no_events(
    sandbox: Environment, production: Environment
) -> None:
    """Only the certificate in service counts; one being revoked leaves the feed; another
    environment's certificates never appear."""
    old = CertificateFactory.create(signing_request__environment=sandbox)
    current = CertificateFactory.create(signing_request__environment=sandbox)
    signature = CertificateFactory.create(
        signing_request__environment=sandbox, signing_request__purpose="signature"
    )
    Revocation.objects.create(certificate=signature, reason=Revocation.Reason.SUPERSEDED)
    CertificateFactory.create(signing_request__environment=production)
    viewer = member("viewer", sandbox)

    uids = {event.uid for event in calendar_events(user=viewer, now=NOW)}

    assert uids == {f"cert-{current.pk}-renewal@certdesk", f"cert-{current.pk}-expiry@certdesk"}
    assert old.pk != current.pk


def test_the_days_are_certdesks_days(sandbox: Environment, settings: Any) -> None:
    """A certificate expiring at 23:30 UTC expires on the next day in Paris: the all-day event
    is on the day certdesk's users live in (TIME_ZONE), not on UTC's."""
    settings.TIME_ZONE = "Europe/Paris"
    not_after = datetime(2030, 6, 30, 23, 30, tzinfo=UTC)
    CertificateFactory.create(signing_request__environment=sandbox, not_after=not_after)
    viewer = member("viewer", sandbox)

    renewal, expiry = calendar_events(user=viewer, now=NOW)

    assert expiry.day == date(2030, 7, 1)
    assert renewal.day == date(2030, 6, 1)
    assert "notAfter=Jun 30 23:30:00 2030 GMT" in expiry.description
