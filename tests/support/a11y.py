"""axe-core in the browser tests: Deque's accessibility rules run inside the page.

axe-core comes from npm, pinned by tests/a11y/package-lock.json: .ci/run installs it, and a
fresh checkout's first browser run does the same `npm ci` (as tests/support/oidc.py does for the
OpenID provider). ``axe_violations`` injects axe.min.js with Playwright's ``add_script_tag``:
certdesk's Content-Security-Policy forbids inline script, so the page must come from a browser
context made with ``bypass_csp=True`` (``axe_context``), for the axe run only; the other browser
tests keep the policy.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.availability import missing_service

A11Y_DIR = Path(__file__).resolve().parents[1] / "a11y"
AXE_JS = A11Y_DIR / "node_modules" / "axe-core" / "axe.min.js"


def _install_axe() -> None:
    """`npm ci` from tests/a11y's package-lock.json, as .ci/run does, when it has not run."""
    npm = shutil.which("npm")
    if npm is None:
        missing_service("npm is missing: install Node.js 20 or later (with npm) for axe-core")
        return
    result = subprocess.run(
        [npm, "ci", "--prefix", str(A11Y_DIR), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 or not AXE_JS.exists():
        pytest.fail(
            f"`npm ci --prefix tests/a11y` failed ({result.returncode}):\n{result.stderr}",
            pytrace=False,
        )


def axe_script() -> Path:
    """The path of axe.min.js, installed on first use."""
    if not AXE_JS.exists():
        _install_axe()
    return AXE_JS


def axe_context(browser: Browser, *, width: int, height: int) -> BrowserContext:
    """A browser context whose pages accept the injected axe script (bypass_csp)."""
    return browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run every axe rule enabled by default (WCAG 2.0, 2.1 and 2.2 A and AA, and Deque's best
    practices) on the page as it is now; the violations axe reports."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    result: dict[str, Any] = page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})"
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]], *, where: str) -> str:
    """The violations as a person reads them: rule, impact, what to do, and each element."""
    lines = [f"{len(violations)} axe violation(s) on {where}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'n/a'}): {violation['help']}"
            f" [{violation['helpUrl']}]"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    at {target}: {node['html'][:160]}")
            if summary:
                lines.append(f"      {summary[:400]}")
    return "\n".join(lines)
