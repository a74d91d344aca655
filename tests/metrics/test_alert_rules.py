"""The alert rules, checked and unit-tested by Prometheus' own promtool (Debian's `prometheus`
package, installed by .ci/run): deploy/prometheus/alerts_test.yml says when each one fires and
when it must not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.availability import missing_service

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        missing_service("promtool is missing: apt-get install prometheus (as .ci/run does)")
    assert promtool is not None
    return promtool


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *arguments],
        cwd=RULES,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_promtool_accepts_the_rules() -> None:
    result = _run("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout + result.stderr


def test_the_rules_pass_their_unit_tests() -> None:
    result = _run("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_the_unit_tests_catch_a_wrong_threshold(tmp_path: Path) -> None:
    """The unit tests would notice a change of the rules: with 3 days instead of 7, they fail."""
    for name in ("alerts.yml", "alerts_test.yml"):
        shutil.copy(RULES / name, tmp_path / name)
    rules = tmp_path / "alerts.yml"
    text = rules.read_text()
    assert "< 7 * 86400" in text
    rules.write_text(text.replace("< 7 * 86400", "< 3 * 86400"))
    result = subprocess.run(
        [_promtool(), "test", "rules", "alerts_test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "CertdeskCertificateExpiresSoon" in result.stdout + result.stderr
