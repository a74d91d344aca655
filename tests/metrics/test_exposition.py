"""The page's other half: django-prometheus' counts from every gunicorn worker (multiprocess
mode, set up by config/gunicorn_conf.py), and the counted cache backends returning exactly what
Django's return."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache

import config.gunicorn_conf
from certificates.metrics import collector
from certificates.selectors.metrics import (
    CertificateFigures,
    MetricsSnapshot,
    RenewalFigures,
    ScanFigures,
    metrics_snapshot,
)
from config.cachemetrics import FileBasedCache, LocMemCache
from tests.support.metrics import labels, parse, scrape

WORKER = """
from prometheus_client import Counter
Counter("certdesk_test_worker_requests", "Requests one worker served.").inc({count})
"""


def _worker_counts(folder: Path, count: int) -> None:
    """A process of its own (as a gunicorn worker is) counts ``count`` into ``folder``."""
    subprocess.run(
        [sys.executable, "-c", WORKER.format(count=count)],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)},
        check=True,
        timeout=60,
    )


@pytest.mark.django_db
def test_multiprocess_mode_adds_up_every_worker(
    metrics_on: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, a scrape answered by any worker sums the counts all the
    workers wrote, beside certdesk's own figures."""
    _worker_counts(tmp_path, 3)
    _worker_counts(tmp_path, 4)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape()
    assert samples["certdesk_test_worker_requests_total"] == {labels(): 7.0}
    assert "certdesk_renewal_lead_seconds" in samples


def test_gunicorn_gives_the_workers_an_empty_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset: a new temporary folder for this start, which the workers inherit."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    config.gunicorn_conf.on_starting(SimpleNamespace())
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert folder.is_dir()
    assert not any(folder.iterdir())
    folder.rmdir()


def test_gunicorn_empties_a_folder_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set: the counts of an earlier run are removed (they would be added to this one's)."""
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    config.gunicorn_conf.on_starting(SimpleNamespace())
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_gunicorn_marks_an_ended_worker_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import multiprocess

    dead: list[int] = []
    monkeypatch.setattr(multiprocess, "mark_process_dead", lambda pid, path=None: dead.append(pid))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    config.gunicorn_conf.child_exit(SimpleNamespace(), SimpleNamespace(pid=4242))
    assert dead == [4242]


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: LocMemCache("certdesk-metrics-test", {}),
        lambda tmp: FileBasedCache(str(tmp), {}),
    ],
)
def test_counted_caches_return_what_django_returns(make: Any, tmp_path: Path) -> None:
    """A cached 0, "" or False comes back as itself (django-prometheus' own wrappers answer the
    default for them); a missing key answers the default."""
    counted = make(tmp_path)
    for value in (0, "", False, None, [1]):
        counted.set("key", value)
        plain = DjangoLocMemCache("certdesk-metrics-plain", {})
        plain.set("key", value)
        assert counted.get("key", "default") == plain.get("key", "default")
    assert counted.get("missing", "default") == "default"
    counted.set("zero", 0)
    assert counted.get("zero", "default") == 0


def _snapshot(**changes: Any) -> MetricsSnapshot:
    figures: dict[str, Any] = {
        "certificates": [],
        "renewals": [],
        "outbox": {},
        "login_failures": 0,
        "locked_accounts": 0,
        "locked_addresses": 0,
        "scan": ScanFigures(last_success=None, last_run=None, last_run_errors=0),
        "heartbeat": None,
        "renewal_lead_seconds": 2592000.0,
        "scan_interval_seconds": 3600.0,
        "heartbeat_interval_seconds": 300.0,
    }
    return MetricsSnapshot(**{**figures, **changes})


def test_the_text_is_what_prometheus_parses_label_values_escaped() -> None:
    """certdesk writes its lines itself (bench/scrape.py says why): a label value with a quote,
    a backslash or a line feed comes back intact through prometheus_client's own parser."""
    odd = 'a"b\\c\nd'
    not_after = datetime(2027, 1, 31, 12, 0, 0, 250000, tzinfo=UTC)
    text = "".join(
        collector.lines(
            _snapshot(
                certificates=[
                    CertificateFigures(odd, "mtls", odd, "0A", not_after.timestamp(), True)
                ],
                renewals=[RenewalFigures(odd, "mtls", "sent", not_after)],
            )
        )
    )
    samples = parse(text)
    certificate = labels(environment=odd, purpose="mtls", common_name=odd, serial="0A")
    assert samples["certdesk_certificate_not_after_timestamp_seconds"] == {
        certificate: not_after.timestamp()
    }
    assert samples["certdesk_certificate_in_service"] == {certificate: 1.0}
    assert (
        samples["certdesk_renewal_state"][labels(environment=odd, purpose="mtls", state="sent")]
        == 1.0
    )
    assert set(samples) <= set(collector.HELP)


@pytest.mark.django_db
def test_a_scrape_leaves_the_garbage_collector_as_it_found_it() -> None:
    """The collector pauses the cyclic garbage collector while it reads and writes (bench/scrape
    measured half the time spent in it), and puts it back as it was."""
    assert gc.isenabled()
    seen: list[bool] = []
    real = metrics_snapshot

    def spy(**kwargs: Any) -> MetricsSnapshot:
        seen.append(gc.isenabled())
        return real(**kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("certificates.metrics.collector.metrics_snapshot", spy)
        collector.collect()
        assert gc.isenabled()
        gc.disable()
        try:
            collector.collect()
            assert not gc.isenabled()
        finally:
            gc.enable()
    assert seen == [False, False]
