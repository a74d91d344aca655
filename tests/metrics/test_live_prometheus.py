"""A real Prometheus scrapes a running certdesk (issue 18): Debian's `prometheus` on a free
loopback port, a temporary configuration that scrapes the live server's /metrics with the bearer
token (and loads the shipped alert rules), then its HTTP API answers a query for the expiry
metric. Stopped by its pid, its data in a temporary folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from certificates.models import Environment
from tests.support.availability import missing_service
from tests.support.factories import CertificateFactory, SigningRequestFactory
from tests.support.metrics import TOKEN
from tests.support.oidc import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
# Bounds for a process of this machine, not a measurement: Prometheus starts in about a second
# and scrapes every second.
START_SECONDS = 60
SCRAPE_SECONDS = 60


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except OSError:
        return 0, ""


def _until(deadline_seconds: float, probe: Any, process: subprocess.Popen[str]) -> Any:
    """Ask ``probe`` until it answers something true, the process ends or the time is up."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        answer = probe()
        if answer:
            return answer
        try:
            process.wait(timeout=0.25)  # returns at once if Prometheus died
        except subprocess.TimeoutExpired:
            continue
        break
    return None


@dataclass(frozen=True)
class Running:
    url: str  # Prometheus' own address
    target: str  # certdesk's host:port, as Prometheus labels it (instance)
    process: subprocess.Popen[str]


@pytest.fixture
def prometheus(tmp_path: Path, live_server: LiveServer, settings: Any) -> Iterator[Running]:
    """Prometheus scraping ``live_server`` every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        missing_service("prometheus is missing: apt-get install prometheus (as .ci/run does)")
    assert binary is not None
    settings.CERTDESK_METRICS_TOKEN = TOKEN
    settings.CERTDESK_METRICS_ALLOWED_IPS = []
    target = urllib.parse.urlsplit(live_server.url).netloc
    shutil.copy(RULES, tmp_path / "alerts.yml")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {
                "job_name": "certdesk",
                "metrics_path": "/metrics",
                "authorization": {"type": "Bearer", "credentials": TOKEN},
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = _until(START_SECONDS, lambda: _get(f"{base}/-/ready")[0] == 200, process)
        if not ready:
            pytest.fail(f"Prometheus did not start: {(tmp_path / 'prometheus.log').read_text()}")
        yield Running(url=base, target=target, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def test_prometheus_scrapes_certdesk_and_answers_for_the_expiry(
    sandbox: Environment, prometheus: Running
) -> None:
    request = SigningRequestFactory.create(environment=sandbox, common_name="api.acme.com")
    certificate = CertificateFactory.create(
        signing_request=request, not_after=timezone.now() + timedelta(days=42)
    )
    query = urllib.parse.urlencode({"query": "certdesk_certificate_not_after_timestamp_seconds"})

    def answer() -> list[dict[str, Any]]:
        status, body = _get(f"{prometheus.url}/api/v1/query?{query}")
        if status != 200:
            return []
        result: list[dict[str, Any]] = json.loads(body)["data"]["result"]
        return result

    # Waiting on the other process's scrape (its own clock), not on certdesk's time.
    result = _until(SCRAPE_SECONDS, answer, prometheus.process)
    assert result, "Prometheus never had the expiry metric"
    (series,) = result
    assert series["metric"] == {
        "__name__": "certdesk_certificate_not_after_timestamp_seconds",
        "job": "certdesk",
        "instance": prometheus.target,
        "environment": "sandbox",
        "purpose": "mtls",
        "common_name": "api.acme.com",
        "serial": certificate.serial,
    }
    assert float(series["value"][1]) == pytest.approx(certificate.not_after.timestamp())

    status, body = _get(f"{prometheus.url}/api/v1/targets")
    assert status == 200
    (target,) = json.loads(body)["data"]["activeTargets"]
    assert target["health"] == "up"
    assert target["scrapeUrl"] == f"http://{prometheus.target}/metrics"
    # The shipped rules load in a real Prometheus too.
    status, body = _get(f"{prometheus.url}/api/v1/rules")
    loaded = {
        rule["name"] for group in json.loads(body)["data"]["groups"] for rule in group["rules"]
    }
    assert "CertdeskCertificateExpiresSoon" in loaded
