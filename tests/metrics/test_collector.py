"""What /metrics reports (issue 18): certificates that are not history, renewal states, the outbox
by state, the last expiry scan and heartbeat, failed logins, and django-prometheus' request,
database and cache metrics."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt  # type: ignore[import-untyped]
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from certificates.models import Environment, OutboundEmail, Revocation, SigningRequest
from certificates.outbox_policy import MAX_ATTEMPTS
from certificates.services import reminders
from certificates.services.heartbeat import expiry_scan_record, heartbeat_record
from certificates.services.reminders import claim
from tests.support.factories import CertificateFactory, SigningRequestFactory, requests_bulk
from tests.support.metrics import labels, scrape

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOT_AFTER = "certdesk_certificate_not_after_timestamp_seconds"
IN_SERVICE = "certdesk_certificate_in_service"


def certificate(environment: Environment, *, days: float, purpose: str = "mtls", **fields: Any):
    request = SigningRequestFactory.create(
        environment=environment, purpose=purpose, common_name=fields.pop("cn", "api.acme.com")
    )
    return CertificateFactory.create(
        signing_request=request, not_after=timezone.now() + timedelta(days=days), **fields
    )


def of(certificate: Any) -> frozenset[tuple[str, str]]:
    return labels(
        environment=certificate.environment.slug,
        purpose=certificate.purpose,
        common_name=certificate.signing_request.common_name,
        serial=certificate.serial,
    )


@time_machine.travel(T0, tick=False)
def test_the_certificate_in_service_and_the_one_it_replaced_history_left_out(
    metrics_on: str, sandbox: Environment, production: Environment
) -> None:
    """Per (environment, purpose): the certificate in service (in_service 1, whatever its
    status: the expired one of Production is reported), and the one it replaced while still
    valid (in_service 0). Older ones are history: not reported."""
    oldest = certificate(sandbox, days=20, cn="old.acme.com")
    replaced = certificate(sandbox, days=200, cn="mid.acme.com")
    current = certificate(sandbox, days=365, cn="api.acme.com")
    expired = certificate(production, days=-1, cn="prod.acme.com")
    signature = certificate(sandbox, days=90, purpose="signature", cn="sign.acme.com")

    samples = scrape()
    assert samples[NOT_AFTER] == {
        of(current): current.not_after.timestamp(),
        of(replaced): replaced.not_after.timestamp(),
        of(expired): expired.not_after.timestamp(),
        of(signature): signature.not_after.timestamp(),
    }
    assert samples[IN_SERVICE] == {
        of(current): 1.0,
        of(replaced): 0.0,
        of(expired): 1.0,
        of(signature): 1.0,
    }
    assert of(oldest) not in samples[NOT_AFTER]
    assert of(current) == labels(
        environment="sandbox", purpose="mtls", common_name="api.acme.com", serial=current.serial
    )


@time_machine.travel(T0, tick=False)
def test_a_replaced_certificate_is_history_once_expired_or_revoked(
    metrics_on: str, sandbox: Environment, production: Environment
) -> None:
    expired = certificate(sandbox, days=-2, cn="gone.acme.com")
    certificate(sandbox, days=300)
    revoked = certificate(production, days=100, cn="leaked.acme.com")
    certificate(production, days=300)
    Revocation.objects.create(certificate=revoked, reason=Revocation.Reason.KEY_COMPROMISE)

    samples = scrape()
    assert of(expired) not in samples[NOT_AFTER]
    assert of(revoked) not in samples[NOT_AFTER]
    assert len(samples[NOT_AFTER]) == 2


@time_machine.travel(T0, tick=False)
def test_renewal_state_per_environment_and_purpose(
    metrics_on: str, sandbox: Environment, production: Environment
) -> None:
    """none, csr_ready or sent (one series per state, 1 for the current one); sent says since
    when: the person's day for "I sent it myself", the time certdesk sent it otherwise."""
    production.signature_required = True
    production.save(update_fields=["signature_required"])
    requests_bulk(sandbox, 1, status=SigningRequest.Status.READY, purpose="mtls")
    by_hand, by_certdesk = requests_bulk(production, 2, status=SigningRequest.Status.SENT)
    SigningRequest.objects.filter(pk=by_hand.pk).update(
        sent_on=date(2026, 2, 20), sent_at=T0 - timedelta(days=1)
    )
    SigningRequest.objects.filter(pk=by_certdesk.pk).update(sent_at=T0 - timedelta(days=3))

    samples = scrape()
    state = samples["certdesk_renewal_state"]

    def current(environment: str, purpose: str) -> str:
        found = [
            name
            for name in ("none", "csr_ready", "sent")
            if state[labels(environment=environment, purpose=purpose, state=name)] == 1.0
        ]
        assert len(found) == 1
        return found[0]

    assert current("sandbox", "mtls") == "csr_ready"
    assert current("production", "mtls") == "sent"
    # Production needs the signature set; Sandbox does not, and has none: not reported.
    assert current("production", "signature") == "none"
    assert labels(environment="sandbox", purpose="signature", state="none") not in state
    # The longest wait: the day given by hand (midnight UTC), before certdesk's own send.
    assert samples["certdesk_renewal_sent_timestamp_seconds"] == {
        labels(environment="production", purpose="mtls"): datetime(
            2026, 2, 20, tzinfo=UTC
        ).timestamp()
    }
    assert samples["certdesk_renewal_lead_seconds"] == {labels(): 30 * 86400.0}


def test_outbox_emails_by_kind_and_state(metrics_on: str) -> None:
    """The pages' words: a failed email with attempts left is retrying; failed is given up."""

    def email(kind: str, status: str, attempts: int = 1) -> None:
        OutboundEmail.objects.create(
            kind=kind, status=status, attempts=attempts, to=["tam@treezor.example"], subject="s"
        )

    email("tam_renewal", "failed", attempts=MAX_ATTEMPTS)
    email("tam_renewal", "failed", attempts=2)
    email("tam_renewal", "sent")
    email("tam_csr", "refused")
    email("reminder", "queued")
    email("reminder", "queued")

    outbox = scrape()["certdesk_outbox_emails"]
    assert outbox[labels(kind="tam_renewal", state="failed")] == 1.0
    assert outbox[labels(kind="tam_renewal", state="retrying")] == 1.0
    assert outbox[labels(kind="tam_renewal", state="sent")] == 1.0
    assert outbox[labels(kind="tam_csr", state="refused")] == 1.0
    assert outbox[labels(kind="reminder", state="queued")] == 2.0
    # Every kind and state is there, 0 when empty, so a rate or an alert has a series to read.
    assert outbox[labels(kind="compromise_notice", state="failed")] == 0.0
    assert len(outbox) == len(OutboundEmail.Kind.values) * 6


def test_the_last_successful_expiry_scan_and_heartbeat(metrics_on: str) -> None:
    """Absent until known; then the time the scan finished (and the worker's heartbeat)."""
    samples = scrape()
    assert "certdesk_expiry_scan_last_success_timestamp_seconds" not in samples
    assert "certdesk_worker_heartbeat_timestamp_seconds" not in samples
    assert samples["certdesk_expiry_scan_interval_seconds"] == {labels(): 3600.0}
    assert samples["certdesk_worker_heartbeat_interval_seconds"] == {labels(): 300.0}

    with time_machine.travel(T0, tick=False):
        reminders.expiry_scan()
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        heartbeat_record()
    samples = scrape()
    assert samples["certdesk_expiry_scan_last_success_timestamp_seconds"] == {
        labels(): T0.timestamp()
    }
    assert samples["certdesk_expiry_scan_last_run_timestamp_seconds"] == {labels(): T0.timestamp()}
    assert samples["certdesk_expiry_scan_last_run_errors"] == {labels(): 0.0}
    assert samples["certdesk_worker_heartbeat_timestamp_seconds"] == {
        labels(): (T0 + timedelta(minutes=2)).timestamp()
    }


def test_a_scan_with_errors_is_no_success(
    metrics_on: str, sandbox: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reminder the scan could not process: the run is recorded with its errors, the last
    success stays where it was."""
    with time_machine.travel(T0, tick=False):
        reminders.expiry_scan()
        certificate(sandbox, days=5)

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("the mail composer broke")

    monkeypatch.setattr(claim, "reminders_claim", broken)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        report = reminders.expiry_scan()
    assert report.errors
    samples = scrape()
    assert samples["certdesk_expiry_scan_last_success_timestamp_seconds"] == {
        labels(): T0.timestamp()
    }
    assert samples["certdesk_expiry_scan_last_run_timestamp_seconds"] == {
        labels(): (T0 + timedelta(hours=1)).timestamp()
    }
    assert samples["certdesk_expiry_scan_last_run_errors"] == {labels(): float(len(report.errors))}


def test_a_cache_that_does_not_answer_does_not_fail_the_scan(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Redis does not answer")

    monkeypatch.setattr(cache, "set", down)
    with caplog.at_level(logging.WARNING):
        expiry_scan_record(errors=0)
    assert "could not record its end in the cache: ConnectionError" in caplog.text


def test_dry_runs_are_not_recorded(metrics_on: str) -> None:
    reminders.expiry_scan(dry_run=True)
    assert "certdesk_expiry_scan_last_run_timestamp_seconds" not in scrape()


def _attempt(username: str, ip: str, failures: int) -> AccessAttempt:
    return AccessAttempt.objects.create(
        username=username,
        ip_address=ip,
        user_agent="test",
        http_accept="*/*",
        path_info="/login/",
        get_data="",
        post_data="",
        failures_since_start=failures,
    )


def test_failed_logins_within_the_cool_off_and_lockouts(metrics_on: str, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    _attempt("alice", "198.51.100.7", 2)
    _attempt("bob", "198.51.100.8", 5)
    old = _attempt("carol", "198.51.100.9", 9)
    AccessAttempt.objects.filter(pk=old.pk).update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1)
    )
    samples = scrape()
    assert samples["certdesk_login_failures"] == {labels(): 7.0}
    assert samples["certdesk_login_locked"] == {
        labels(kind="account"): 1.0,
        labels(kind="address"): 0.0,
    }


def _total(samples: Any, name: str, **match: str) -> float:
    return float(
        sum(
            value
            for label_set, value in samples.get(name, {}).items()
            if set(match.items()) <= set(label_set)
        )
    )


def test_request_database_and_cache_metrics_from_django_prometheus(
    metrics_on: str, admin_user: User
) -> None:
    """django-prometheus counts requests (by view), queries (the wrapped database backend) and
    cache reads (config/cachemetrics.py), on the same page."""
    before = scrape()
    assert Client().get("/login/").status_code == 200
    cache.get("certdesk:metrics-test-missing")
    after = scrape()
    requests = "django_http_requests_total_by_view_transport_method_total"
    assert _total(after, requests, view="login", method="GET") == (
        _total(before, requests, view="login", method="GET") + 1
    )
    assert _total(after, "django_db_execute_total") > _total(before, "django_db_execute_total")
    assert _total(after, "django_cache_get_total") > _total(before, "django_cache_get_total")
    assert _total(after, "django_cache_get_misses_total") > _total(
        before, "django_cache_get_misses_total"
    )


def test_a_cache_that_does_not_answer_leaves_the_marks_out_not_the_page(
    metrics_on: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down: the scrape still answers with what the database holds; the last scan and
    heartbeat are absent (the alert rules read that as not seen)."""
    heartbeat_record()

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Redis does not answer")

    monkeypatch.setattr(cache, "get_many", down)
    with caplog.at_level(logging.WARNING):
        samples = scrape()
    assert "certdesk_worker_heartbeat_timestamp_seconds" not in samples
    assert "certdesk_renewal_lead_seconds" in samples
    assert "the cache does not answer (ConnectionError" in caplog.text
