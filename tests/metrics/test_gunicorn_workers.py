"""/metrics under gunicorn as the container runs it (config/gunicorn_conf.py, two workers): every
scrape, whichever worker answers it, counts the requests all the workers served."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.manage import run_manage
from tests.support.metrics import TOKEN, labels, parse
from tests.support.oidc import free_port

pytestmark = pytest.mark.slow

START_SECONDS = 60  # a bound for gunicorn and two workers to answer, not a measurement
REQUESTS = 12


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except OSError:
        return 0, ""


def _healthz_count(base: str) -> float:
    """GET /healthz answered, as one scrape reports it (certdesk's own metrics there too)."""
    status, text = _get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200
    samples = parse(text)
    assert samples["certdesk_renewal_lead_seconds"] == {labels(): 30 * 86400.0}
    requests = samples["django_http_requests_total_by_view_transport_method_total"]
    return sum(
        value
        for label_set, value in requests.items()
        if ("method", "GET") in label_set and ("view", "healthz") in label_set
    )


def test_every_scrape_adds_up_all_the_workers(tmp_path: Path) -> None:
    environment = {
        "CERTDESK_METRICS_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    migrated = run_manage(tmp_path, "migrate", "--no-input", **environment)
    assert migrated.returncode == 0, migrated.stderr
    folder = tmp_path / "prometheus"
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--config",
            "python:config.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={
            "PATH": os.environ["PATH"],
            "CERTDESK_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PROMETHEUS_MULTIPROC_DIR": str(folder),
            **environment,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while _get(f"{base}/healthz")[0] != 200:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer"
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.25)  # at once if gunicorn ended
        before = _healthz_count(base)
        for _ in range(REQUESTS):
            assert _get(f"{base}/healthz")[0] == 200
        # Eight scrapes, answered by either worker: each counts the requests of both.
        counts = {_healthz_count(base) for _ in range(8)}
        assert counts == {before + REQUESTS}
        assert list(folder.glob("*.db"))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()
