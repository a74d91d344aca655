"""Links in emails point where the site is really served (issue 16): CERTDESK_SITE_URL defaults
to the address `make run` serves (PORT included), and `make run`'s start-up lines warn when the
configured one names another port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config import run
from tests.support.manage import BASE_DIR


def _site_url(tmp_path: Path, **env: str) -> str:
    """CERTDESK_SITE_URL as a fresh process with only ``env`` set reads it."""
    clean = {"PATH": os.environ["PATH"], "CERTDESK_VAR_DIR": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.CERTDESK_SITE_URL)"],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
def test_the_default_site_url_is_the_address_make_run_serves(tmp_path: Path) -> None:
    assert _site_url(tmp_path) == "http://127.0.0.1:8000"
    assert _site_url(tmp_path, PORT="8123") == "http://127.0.0.1:8123"
    assert (
        _site_url(tmp_path, PORT="8123", CERTDESK_SITE_URL="https://certdesk.acme.example/")
        == "https://certdesk.acme.example"
    )


@pytest.mark.parametrize(
    ("site_url", "port", "warns"),
    [
        ("http://127.0.0.1:8000", "8000", False),
        ("http://localhost:8123", "8123", False),
        ("http://127.0.0.1:8000", "8123", True),
        ("http://127.0.0.1", "8000", True),
        ("https://certdesk.acme.example", "443", False),
        ("https://certdesk.acme.example", "8000", True),
        ("http://127.0.0.1:notaport", "8000", True),
    ],
)
def test_the_warning_names_both_ports_when_they_differ(
    site_url: str, port: str, warns: bool
) -> None:
    warning = run.site_url_warning(site_url, port)
    if not warns:
        assert warning is None
        return
    assert warning is not None
    assert warning.startswith(f"certdesk: WARNING: CERTDESK_SITE_URL is {site_url}, ")
    assert f"served on port {port}" in warning
    assert f"CERTDESK_SITE_URL=http://127.0.0.1:{port}" in warning


@pytest.mark.django_db
def test_make_runs_start_up_lines_warn_about_another_port(
    settings: Any, capsys: pytest.CaptureFixture[str], admin_user: object
) -> None:
    """The banner says where to open certdesk, then the warning line when the emails' links
    name another port; nothing when they match."""
    settings.CERTDESK_SITE_URL = "http://127.0.0.1:8000"
    run._start_banner("8001")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "certdesk: open http://127.0.0.1:8001/ in your browser."
    assert lines[1].startswith(
        "certdesk: WARNING: CERTDESK_SITE_URL is http://127.0.0.1:8000, but this site is served "
        "on port 8001"
    )
    run._start_banner("8000")
    assert "WARNING" not in capsys.readouterr().out
