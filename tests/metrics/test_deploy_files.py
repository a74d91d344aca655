"""deploy/: the alert rules and the Grafana dashboard name only metrics /metrics exports, and say
what issue 18 asks (the rules' behaviour itself: test_alert_rules.py, with promtool)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from certificates.models import Environment, OutboundEmail, SigningRequest
from certificates.services import reminders
from certificates.services.heartbeat import heartbeat_record
from tests.support.factories import CertificateFactory, SigningRequestFactory, requests_bulk
from tests.support.metrics import scrape

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "certdesk.json"
METRIC = re.compile(r"\b((?:certdesk|django)_[a-z0-9_]+)\b")

# The alerts issue 18 lists: renewal due, expiry within 7 days, expired but still in service,
# expiry scan stale, worker down, a TAM email failed.
ALERT_NAMES = {
    "CertdeskRenewalDue",
    "CertdeskCertificateExpiresSoon",
    "CertdeskCertificateExpiredInService",
    "CertdeskExpiryScanStale",
    "CertdeskWorkerDown",
    "CertdeskTamEmailFailed",
}


@pytest.fixture
def exported(metrics_on: str, sandbox: Environment, admin_user: User) -> set[str]:
    """Every sample name of a page where each metric has something to report: a certificate in
    service and the one it replaced, a CSR with the TAM, an email, a scan, a heartbeat, a page
    served, a query run, a cache hit and a miss."""
    first = SigningRequestFactory.create(environment=sandbox)
    CertificateFactory.create(signing_request=first)
    second = SigningRequestFactory.create(environment=sandbox)
    CertificateFactory.create(
        signing_request=second, not_after=timezone.now() + timedelta(days=400)
    )
    requests_bulk(sandbox, 1, status=SigningRequest.Status.SENT)
    OutboundEmail.objects.create(kind="tam_csr", to=["tam@treezor.example"], subject="s")
    reminders.expiry_scan()
    heartbeat_record()
    assert Client().get("/login/").status_code == 200
    cache.set("certdesk:metrics-test", 1)
    cache.get("certdesk:metrics-test")
    cache.get("certdesk:metrics-test-missing")
    cache.delete("certdesk:metrics-test")
    return set(scrape())


def _names(expressions: list[str]) -> set[str]:
    return {name for expression in expressions for name in METRIC.findall(expression)}


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _targets(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found += panel.get("targets", [])
        found += _targets(panel.get("panels", []))
    return found


def test_the_alert_rules_are_the_six_of_the_issue() -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} == ALERT_NAMES
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


@pytest.mark.django_db
def test_the_alert_rules_name_only_exported_metrics(exported: set[str]) -> None:
    named = _names([rule["expr"] for rule in _rules()])
    assert named
    assert named - exported == set()


def test_the_dashboard_is_valid_json_with_the_panels_asked_for() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "certdesk"
    titles = " / ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for asked in ("days left", "renewal state", "outbox"):
        assert asked in titles
    expressions = [target["expr"] for target in _targets(dashboard["panels"])]
    assert expressions
    assert all(expressions)
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))


@pytest.mark.django_db
def test_the_dashboard_names_only_exported_metrics(exported: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for target in _targets(dashboard["panels"])]
    expressions += [
        variable["definition"]
        for variable in dashboard["templating"]["list"]
        if variable.get("definition")
    ]
    named = _names(expressions)
    assert {
        "certdesk_certificate_not_after_timestamp_seconds",
        "certdesk_renewal_state",
        "certdesk_outbox_emails",
    } <= named
    assert named - exported == set()
